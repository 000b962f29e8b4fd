// Simulated proxies for the daemon benches: ADS clients over node:http2 that subscribe to CDS and to the
// endpoints of every cluster named, ACK every response at once, and report each EDS response after the initial
// one (the bench's "this client has the change").
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from "../../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../../src/resource/type-urls.js";
import { grpcFrame, GrpcMessageReader } from "./grpc-frames.js";

export interface EdsClients {
  /** Called with performance.now() for every EDS response after a client's first. */
  onUpdate: (at: number) => void;
  close(): void;
}

/** Connects `count` clients (50 at a time) and resolves once each has its first EDS response. */
export async function connectEdsClients(port: number, count: number, clusterNames: readonly string[]): Promise<EdsClients> {
  const sessions: http2.ClientHttp2Session[] = [];
  const clients: EdsClients = {
    onUpdate: () => {},
    close: () => {
      for (const s of sessions) s.destroy();
    },
  };
  const connect = (id: number) =>
    new Promise<void>((ready) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      sessions.push(session);
      session.on("error", () => {});
      const stream = session.request({
        ":method": "POST",
        ":path": "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
      const send = (init: Parameters<typeof create<typeof DiscoveryRequestSchema>>[1]) =>
        stream.write(grpcFrame(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init))));
      let edsSeen = false;
      const reader = new GrpcMessageReader((bytes) => {
        const r = fromBinary(DiscoveryResponseSchema, bytes);
        if (r.typeUrl === TypeUrl.Cluster) {
          if (!edsSeen) send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [...clusterNames] });
          send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce });
        } else if (r.typeUrl === TypeUrl.ClusterLoadAssignment) {
          send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: [...clusterNames] });
          if (!edsSeen) {
            edsSeen = true;
            ready();
          } else clients.onUpdate(performance.now());
        }
      });
      stream.on("data", (chunk: Buffer) => reader.push(chunk, performance.now()));
      send({ node: { id: `bench-${id}`, cluster: "bench" }, typeUrl: TypeUrl.Cluster });
    });
  for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => connect(i + k)));
  return clients;
}
