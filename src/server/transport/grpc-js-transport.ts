// The grpc-js transport: for embedding xdsd's services in a grpc-js server of your own. (XdsServer uses the
// node:http2 transport, which writes the shared response bytes without copying them per stream.) Like every
// transport it iterates the service table and moves bytes: request messages reach the call's decoder as they came,
// and each method is registered as the kind of call it is (unary, client-streaming, server-streaming, bidirectional).
import type * as grpc from "@grpc/grpc-js";
import { responseBytes, type WireResponse } from "./wire-response.js";
import { XdsCalls, type LiveCall, type TransportCall, type XdsServiceOptions } from "../calls.js";
import type { ServiceEntry, XdsService } from "../service-table.js";
import { xdsServices } from "../services.js";

const notClientSide = () => {
  throw new Error("server side only");
};

/**
 * Registers every gRPC method of the table (default: ADS and every per-type service, SotW and incremental) on a
 * grpc-js server. REST-JSON polling is plain HTTP, which grpc-js does not serve: use XdsServer for it.
 * Returns the live calls (for shutdown).
 */
export function addXdsServices(server: grpc.Server, options: XdsServiceOptions, services: readonly ServiceEntry[] = xdsServices): XdsCalls {
  const calls = new XdsCalls(options);
  for (const service of services) {
    if (service.kind !== "grpc") continue;
    const name = service.path.slice(service.path.lastIndexOf("/") + 1);
    const definition: grpc.MethodDefinition<Buffer, WireResponse> = {
      path: service.path,
      requestStream: service.callKind === "client_streaming" || service.callKind === "bidi_streaming",
      responseStream: service.callKind === "server_streaming" || service.callKind === "bidi_streaming",
      requestSerialize: notClientSide,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (r: WireResponse) => responseBytes(r),
      responseDeserialize: notClientSide,
    };
    server.addService({ [name]: definition }, { [name]: handlerOf(calls, service) });
  }
  return calls;
}

/** What every kind of grpc-js server call has: its peer, and the events that say it is over. */
interface AnyCall {
  getPeer(): string;
  on(event: "cancelled" | "error" | "close", listener: (err: Error) => void): unknown;
}

/** The grpc-js handler for one method, by its kind: each binds a call of the table and feeds it. */
function handlerOf(calls: XdsCalls, service: XdsService): grpc.UntypedHandleCall {
  /** Ties the call's end to the live call (a cancelled or broken call is over for the protocol too). */
  const follow = (call: AnyCall, bound: LiveCall) => {
    call.on("cancelled", () => bound.ended("cancelled"));
    call.on("error", (err: Error) => bound.ended(`error: ${err.message}`));
    call.on("close", () => bound.ended("closed"));
  };
  /** A reply answered through grpc-js's callback: the one response, then OK; or a status. */
  const callbackReply = (call: AnyCall, callback: grpc.sendUnaryData<WireResponse>): TransportCall => {
    let response: WireResponse | undefined;
    return {
      peer: call.getPeer(),
      send: (r) => (response = r),
      end: () => callback(null, response),
      fail: (code, details) => callback({ code, details }),
    };
  };
  switch (service.callKind) {
    case "unary":
      return (call: grpc.ServerUnaryCall<Buffer, WireResponse>, callback: grpc.sendUnaryData<WireResponse>) => {
        const bound = calls.open(service, callbackReply(call, callback));
        follow(call, bound);
        bound.request(call.request);
        bound.requestsEnded();
      };
    case "client_streaming":
      return (call: grpc.ServerReadableStream<Buffer, WireResponse>, callback: grpc.sendUnaryData<WireResponse>) => {
        const bound = calls.open(service, callbackReply(call, callback));
        follow(call, bound);
        call.on("data", (message: Buffer) => bound.request(message));
        call.on("end", () => bound.requestsEnded());
      };
    case "server_streaming":
      return (call: grpc.ServerWritableStream<Buffer, WireResponse>) => {
        const bound = calls.open(service, streamReply(call));
        follow(call, bound);
        bound.request(call.request);
        bound.requestsEnded();
      };
    case "bidi_streaming":
      return (call: grpc.ServerDuplexStream<Buffer, WireResponse>) => {
        const bound = calls.open(service, streamReply(call));
        follow(call, bound);
        call.on("data", (message: Buffer) => bound.request(message));
        call.on("end", () => bound.requestsEnded());
      };
  }
}

/** A reply written to a grpc-js response stream. */
function streamReply(call: grpc.ServerWritableStream<Buffer, WireResponse> | grpc.ServerDuplexStream<Buffer, WireResponse>): TransportCall {
  return {
    peer: call.getPeer(),
    send: (response) => call.write(response),
    end: () => call.end(),
    fail: (code, details) => call.emit("error", { code, details }),
  };
}
