// The grpc-js transport: for embedding xdsd's services in a grpc-js server of your own. (XdsServer uses the
// node:http2 transport, which writes the shared response bytes without copying them per stream.)
import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, type DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { responseBytes, type SotwResponse } from "./response.js";
import { SotwCalls, sotwMethods, type XdsServiceOptions } from "./sotw-calls.js";

const notClientSide = () => {
  throw new Error("server side only");
};

/** Registers ADS and every per-type service on a grpc-js server. Returns the live calls (for shutdown). */
export function addXdsServices(server: grpc.Server, options: XdsServiceOptions): SotwCalls {
  const calls = new SotwCalls(options);
  for (const method of sotwMethods) {
    const name = method.path.slice(method.path.lastIndexOf("/") + 1);
    const definition: grpc.MethodDefinition<DiscoveryRequest, SotwResponse> = {
      path: method.path,
      requestStream: true,
      responseStream: true,
      requestSerialize: notClientSide,
      requestDeserialize: (bytes: Buffer) => fromBinary(DiscoveryRequestSchema, bytes),
      responseSerialize: (r: SotwResponse) => responseBytes(r),
      responseDeserialize: notClientSide,
    };
    const handler = (call: grpc.ServerDuplexStream<DiscoveryRequest, SotwResponse>) => {
      const bound = calls.open(method, {
        peer: call.getPeer(),
        send: (response) => call.write(response),
        fail: (code, details) => call.emit("error", { code, details }),
      });
      call.on("data", (req: DiscoveryRequest) => bound.request(req));
      call.on("end", () => {
        bound.ended("client closed the stream");
        call.end();
      });
      call.on("cancelled", () => bound.ended("cancelled"));
      call.on("error", (err) => bound.ended(`error: ${err.message}`));
      call.on("close", () => bound.ended("closed"));
    };
    server.addService({ [name]: definition }, { [name]: handler });
  }
  return calls;
}
