// The gRPC transport: grpc-js carries the streams; this file only adapts them to the stream state machines.
// Requests are decoded with protobuf-es; responses arrive already encoded (shared body + nonce) and are written
// as they are.
import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, type DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import { resourceTypes } from "../resource/types.js";
import { StreamProtocolError } from "../errors.js";
import { SotwStream } from "./sotw-stream.js";
import { responseBytes, type SotwResponse } from "./response.js";
import type { StreamInfo, XdsServerEvents } from "./events.js";

export interface XdsServiceOptions {
  cache: SnapshotSource;
  events?: XdsServerEvents;
  /** Sent as `control_plane.identifier` in every response. */
  controlPlaneId?: string;
}

type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest, SotwResponse>;

const sotwMethod = (path: string): grpc.MethodDefinition<DiscoveryRequest, SotwResponse> => ({
  path,
  requestStream: true,
  responseStream: true,
  requestSerialize: () => {
    throw new Error("server side only");
  },
  requestDeserialize: (bytes: Buffer) => fromBinary(DiscoveryRequestSchema, bytes),
  responseSerialize: (r: SotwResponse) => responseBytes(r),
  responseDeserialize: () => {
    throw new Error("server side only");
  },
});

/**
 * Registers the aggregated service and every per-type service of the registry on a grpc-js server. Returns the
 * set of live streams, which `XdsServer` uses to close them on shutdown.
 */
export function addXdsServices(server: grpc.Server, options: XdsServiceOptions): Set<LiveStream> {
  const live = new Set<LiveStream>();
  let nextId = 1;
  const serve = (service: string, fixedTypeUrl: string | undefined) => (call: SotwCall) => {
    const info: StreamInfo = { id: nextId++, service, peer: call.getPeer() };
    const stream = new SotwStream({
      source: options.cache,
      info,
      events: options.events,
      fixedTypeUrl,
      controlPlaneId: options.controlPlaneId,
      // One response per type is in flight at most (see sotw-stream.ts), so grpc-js's write buffer per stream is
      // bounded by the number of types: no need to queue on write() returning false.
      send: (response) => call.write(response),
    });
    const entry: LiveStream = { stream, call };
    live.add(entry);
    options.events?.streamOpened?.(info);
    let ended = false;
    const finish = (reason: string) => {
      if (ended) return;
      ended = true;
      live.delete(entry);
      stream.close(reason);
    };
    call.on("data", (req: DiscoveryRequest) => {
      try {
        stream.handleRequest(req);
      } catch (err) {
        const protocol = err instanceof StreamProtocolError;
        finish(protocol ? `protocol error: ${(err as Error).message}` : `internal error: ${(err as Error).message}`);
        call.emit("error", { code: protocol ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: (err as Error).message });
      }
    });
    call.on("end", () => {
      finish("client closed the stream");
      call.end();
    });
    call.on("cancelled", () => finish("cancelled"));
    call.on("error", (err) => finish(`error: ${err.message}`));
    call.on("close", () => finish("closed"));
  };

  server.addService(
    { StreamAggregatedResources: sotwMethod("/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources") },
    { StreamAggregatedResources: serve("ads", undefined) },
  );
  for (const type of resourceTypes) {
    const svc = type.perTypeService;
    if (!svc) continue;
    server.addService({ [svc.sotwMethod]: sotwMethod(`/${svc.service}/${svc.sotwMethod}`) }, { [svc.sotwMethod]: serve(type.short, type.typeUrl) });
  }
  return live;
}

export interface LiveStream {
  stream: SotwStream;
  call: SotwCall;
}
