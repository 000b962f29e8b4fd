// The grpc-js transport: for embedding xdsd's services in a grpc-js server of your own. (XdsServer uses the
// node:http2 transport, which writes the shared response bytes without copying them per stream.) Like every
// transport it iterates the service table and moves bytes: request messages reach the call's decoder as they came.
import type * as grpc from "@grpc/grpc-js";
import { responseBytes, type WireResponse } from "./wire-response.js";
import { XdsCalls, type XdsServiceOptions } from "../calls.js";
import type { ServiceEntry } from "../service-table.js";
import { xdsServices } from "../services.js";

const notClientSide = () => {
  throw new Error("server side only");
};

/**
 * Registers every streaming service of the table (default: ADS and every per-type service, SotW and incremental)
 * on a grpc-js server. REST-JSON polling is plain HTTP, which grpc-js does not serve: use XdsServer for it.
 * Returns the live calls (for shutdown).
 */
export function addXdsServices(server: grpc.Server, options: XdsServiceOptions, services: readonly ServiceEntry[] = xdsServices): XdsCalls {
  const calls = new XdsCalls(options);
  for (const service of services) {
    if (service.kind !== "stream") continue;
    const name = service.path.slice(service.path.lastIndexOf("/") + 1);
    const definition: grpc.MethodDefinition<Buffer, WireResponse> = {
      path: service.path,
      requestStream: true,
      responseStream: true,
      requestSerialize: notClientSide,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (r: WireResponse) => responseBytes(r),
      responseDeserialize: notClientSide,
    };
    const handler = (call: grpc.ServerDuplexStream<Buffer, WireResponse>) => {
      const bound = calls.open(service, {
        peer: call.getPeer(),
        send: (response) => call.write(response),
        fail: (code, details) => call.emit("error", { code, details }),
      });
      call.on("data", (message: Buffer) => bound.request(message));
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
