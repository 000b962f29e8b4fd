// The SotW state machine alone, no transport: N streams subscribed to C EDS names (and CDS), one assignment
// changed per round. Measures what a push and the following ACKs cost the server's CPU in xdsd's own code.
// Run: npm run build && node dist/bench/state-machine.js [streams=1000] [clusters=500] [rounds=21]
import { create } from "@bufbuild/protobuf";
import { SnapshotCache } from "../src/cache/snapshot-cache.js";
import { Snapshot } from "../src/cache/snapshot.js";
import { SotwStream } from "../src/server/protocol/sotw-stream.js";
import type { SotwResponse } from "../src/server/protocol/sotw-response.js";
import { DiscoveryRequestSchema } from "../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { NodeSchema } from "../src/gen/envoy/config/core/v3/base_pb.js";
import { translateCluster } from "../src/config/translate.js";
import { TypeUrl } from "../src/resource/type-urls.js";

const [streamCount = 1000, clusterCount = 500, rounds = 21] = process.argv.slice(2).map(Number);
const names = Array.from({ length: clusterCount }, (_, i) => `c${i}`);
let snapshot = Snapshot.from(
  names.flatMap((name, i) => {
    const { cluster, endpoints } = translateCluster({ name, endpoints: Array.from({ length: 10 }, (_, j) => `10.0.${i % 250}.${j + 1}:80`) });
    return [cluster, endpoints];
  }),
);
const cache = new SnapshotCache();
cache.setDefaultSnapshot(snapshot);

const last: SotwResponse[][] = [];
const streams = Array.from({ length: streamCount }, (_, i) => {
  last[i] = [];
  const s = new SotwStream({ source: cache, info: { id: i + 1, protocol: "sotw", service: "ads", openedAt: 0, peer: "bench" }, send: (r) => last[i].push(r) });
  s.handleRequest(create(DiscoveryRequestSchema, { node: create(NodeSchema, { id: `n${i}`, cluster: "bench" }), typeUrl: TypeUrl.Cluster }));
  s.handleRequest(create(DiscoveryRequestSchema, { typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names }));
  return s;
});
// ACKs are built before timing: the client's cost is not the server's.
const acks = (i: number) =>
  last[i].splice(0).map((r) =>
    create(DiscoveryRequestSchema, {
      typeUrl: r.typeUrl,
      versionInfo: r.versionInfo,
      responseNonce: r.nonce,
      resourceNames: r.typeUrl === TypeUrl.Cluster ? [] : names,
    }),
  );
const ackAll = () => {
  const pending = streams.map((_, i) => acks(i));
  const t0 = performance.now();
  streams.forEach((s, i) => {
    for (const req of pending[i]) s.handleRequest(req);
  });
  return performance.now() - t0;
};
ackAll();

const push: number[] = [];
const ack: number[] = [];
for (let k = 0; k < rounds; k++) {
  const { endpoints } = translateCluster({ name: names[k % clusterCount], endpoints: [`10.9.9.${(k % 250) + 1}:80`] });
  const t0 = performance.now();
  snapshot = snapshot.update({ upsert: [endpoints] });
  cache.setDefaultSnapshot(snapshot);
  push.push(performance.now() - t0);
  ack.push(ackAll());
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `${streamCount} streams, ${clusterCount} EDS names each, ${rounds} rounds: ` +
    `push median ${median(push).toFixed(2)} ms (${((median(push) * 1000) / streamCount).toFixed(1)} µs/stream), ` +
    `ACK handling median ${median(ack).toFixed(2)} ms`,
);
