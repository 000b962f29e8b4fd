// Resources with a TTL, both protocols, no socket: how they go on the wire (a Resource wrapper in SotW, Resource.ttl
// in delta), and the heartbeats that refresh them — on a fake clock, at half the shortest TTL, never while a
// response of the type is in flight, with bodies in SotW (Envoy ignores body-less SotW heartbeats) and without in
// delta, and a delta heartbeat the client refuses (its TTL lapsed) answered with the bodies; no timer at all once
// no resource has a TTL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  ResourceSchema,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { ClusterSchema } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { withTtl } from "../../src/resource/encoded-resource.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { DeltaStream } from "../../src/server/protocol/delta-stream.js";
import { SotwStream } from "../../src/server/protocol/sotw-stream.js";
import type { HeartbeatTimers } from "../../src/server/service-table.js";
import type { WireResponse } from "../../src/server/transport/wire-response.js";
import { responseBytes } from "../../src/server/transport/wire-response.js";
import { edsCluster, endpoints, node } from "../support/resources.js";

const CDS = TypeUrl.Cluster;

/** Interval timers that fire when the test says. */
class FakeTimers implements HeartbeatTimers {
  readonly intervals = new Map<number, { callback: () => void; ms: number }>();
  #next = 1;
  setInterval(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.intervals.set(id, { callback, ms });
    return id;
  }
  clearInterval(handle: unknown): void {
    this.intervals.delete(handle as number);
  }
  fire(): void {
    for (const { callback } of [...this.intervals.values()]) callback();
  }
}

function snapshotWithTtl(ttlMs: number | undefined, address = "10.0.0.1:80"): Snapshot {
  const a = edsCluster("a");
  return Snapshot.from([ttlMs ? withTtl(a, ttlMs) : a, edsCluster("b"), endpoints("a", address), endpoints("b", "10.0.0.2:80")]);
}

function harness<S extends SotwStream | DeltaStream>(make: (o: ConstructorParameters<typeof SotwStream>[0]) => S, snapshot: Snapshot) {
  const cache = new SnapshotCache();
  cache.setSnapshot("test/n1", snapshot);
  const timers = new FakeTimers();
  const sent: WireResponse[] = [];
  const heartbeats: string[] = [];
  const stream = make({
    source: cache,
    info: { id: 1, protocol: "sotw", service: "test", openedAt: 0, peer: "test" },
    send: (r) => sent.push(r as WireResponse),
    events: { response: (_s, r) => r.heartbeat && heartbeats.push(r.typeUrl) },
    timers,
  });
  return { cache, timers, sent, heartbeats, stream };
}

test("SotW: a resource with a TTL goes in a Resource wrapper with its ttl; the others as they are", () => {
  const h = harness((o) => new SotwStream(o), snapshotWithTtl(4000));
  h.stream.handleRequest(create(DiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const r = fromBinary(DiscoveryResponseSchema, responseBytes(h.sent[0]));
  const byType = r.resources.map((a) => a.typeUrl).sort();
  assert.deepEqual(byType, [CDS, "type.googleapis.com/envoy.service.discovery.v3.Resource"]);
  const wrapper = anyUnpack(r.resources.find((a) => a.typeUrl.endsWith("Resource"))!, ResourceSchema)!;
  assert.equal(wrapper.name, "a");
  assert.equal(wrapper.ttl?.seconds, 4n);
  assert.equal(anyUnpack(wrapper.resource!, ClusterSchema)?.name, "a");
});

test("SotW: heartbeats every TTL/2 re-send what the client holds, with bodies and the same version, only when nothing is in flight", () => {
  const h = harness((o) => new SotwStream(o), snapshotWithTtl(4000));
  h.stream.handleRequest(create(DiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const first = fromBinary(DiscoveryResponseSchema, responseBytes(h.sent[0]));
  assert.deepEqual(
    [...h.timers.intervals.values()].map((i) => i.ms),
    [2000],
  );
  h.timers.fire();
  assert.equal(h.sent.length, 1, "no heartbeat while the first response awaits its ACK");
  h.stream.handleRequest(create(DiscoveryRequestSchema, { typeUrl: CDS, versionInfo: first.versionInfo, responseNonce: first.nonce }));
  h.timers.fire();
  assert.equal(h.sent.length, 2);
  const beat = fromBinary(DiscoveryResponseSchema, responseBytes(h.sent[1]));
  assert.equal(beat.versionInfo, first.versionInfo);
  assert.notEqual(beat.nonce, first.nonce);
  // CDS is full state: the whole set the client holds, or Envoy would delete what is left out.
  assert.equal(beat.resources.length, 2);
  assert.deepEqual(h.heartbeats, [CDS]);
});

test("SotW: after a NACK, heartbeats refresh what the client kept, at the version it kept, and their ACK does not end the NACK", () => {
  const h = harness((o) => new SotwStream(o), snapshotWithTtl(4000));
  h.stream.handleRequest(create(DiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const kept = fromBinary(DiscoveryResponseSchema, responseBytes(h.sent[0]));
  h.stream.handleRequest(create(DiscoveryRequestSchema, { typeUrl: CDS, versionInfo: kept.versionInfo, responseNonce: kept.nonce }));
  // Another TTL is another version of "a"; the client rejects it.
  h.cache.setSnapshot("test/n1", snapshotWithTtl(6000));
  const rejected = fromBinary(DiscoveryResponseSchema, responseBytes(h.sent[1]));
  h.stream.handleRequest(
    create(DiscoveryRequestSchema, { typeUrl: CDS, versionInfo: kept.versionInfo, responseNonce: rejected.nonce, errorDetail: { code: 13, message: "no" } }),
  );
  h.timers.fire();
  assert.equal(h.sent.length, 3);
  const beat = fromBinary(DiscoveryResponseSchema, responseBytes(h.sent[2]));
  assert.equal(beat.versionInfo, kept.versionInfo, "the version the client kept, not the rejected one");
  const wrapper = anyUnpack(beat.resources.find((a) => a.typeUrl.endsWith("Resource"))!, ResourceSchema)!;
  assert.equal(wrapper.ttl?.seconds, 4n, "the cluster as the client holds it");
  h.stream.handleRequest(create(DiscoveryRequestSchema, { typeUrl: CDS, versionInfo: kept.versionInfo, responseNonce: beat.nonce }));
  const status = (h.stream as SotwStream).typeStatus().find((t) => t.typeUrl === CDS)!;
  assert.equal(status.rejectedVersion, rejected.versionInfo, "still rejected: the heartbeat was not the rejected content");
  assert.equal(h.sent.length, 3, "and the rejected content is not sent again");
});

test("delta: Resource.ttl on the resource; heartbeats are the resource without its body, at the version held", () => {
  const h = harness((o) => new DeltaStream(o as never), snapshotWithTtl(3000));
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const first = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[0]));
  const a = first.resources.find((r) => r.name === "a")!;
  const b = first.resources.find((r) => r.name === "b")!;
  assert.deepEqual([a.ttl?.seconds, b.ttl], [3n, undefined]);
  assert.ok(a.resource);
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: CDS, responseNonce: first.nonce }));
  assert.deepEqual(
    [...h.timers.intervals.values()].map((i) => i.ms),
    [1500],
  );
  h.timers.fire();
  const beat = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[1]));
  assert.deepEqual(
    beat.resources.map((r) => [r.name, r.version, r.ttl?.seconds, r.resource]),
    [["a", a.version, 3n, undefined]],
  );
  assert.deepEqual(beat.removedResources, []);
});

test("delta: a refused heartbeat (the client's TTL lapsed, it dropped the resource) sends the resource again, with its body", () => {
  const h = harness((o) => new DeltaStream(o as never), snapshotWithTtl(3000));
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const first = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[0]));
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: CDS, responseNonce: first.nonce }));
  h.timers.fire();
  const beat = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[1]));
  h.stream.handleRequest(
    create(DeltaDiscoveryRequestSchema, {
      typeUrl: CDS,
      responseNonce: beat.nonce,
      errorDetail: { code: 13, message: `type URL  embedded in an individual Any does not match the message-wide type URL ${CDS}` },
    }),
  );
  assert.equal(h.sent.length, 3, "the NACK of a heartbeat is answered at once");
  const again = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[2]));
  assert.deepEqual(
    again.resources.map((r) => [r.name, r.ttl?.seconds, anyUnpack(r.resource!, ClusterSchema)?.name]),
    [["a", 3n, "a"]],
  );
  assert.deepEqual(h.heartbeats, [CDS], "the answer is a response, not a heartbeat");
  // Once it is ACKed, heartbeats go on as before.
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: CDS, responseNonce: again.nonce }));
  h.timers.fire();
  assert.deepEqual(h.heartbeats, [CDS, CDS]);
});

test("a TTL changes the version (the client must learn it); dropping every TTL stops the heartbeat timer", () => {
  const h = harness((o) => new DeltaStream(o as never), snapshotWithTtl(3000));
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const first = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[0]));
  h.stream.handleRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: CDS, responseNonce: first.nonce }));
  assert.equal(h.timers.intervals.size, 1);
  h.cache.setSnapshot("test/n1", snapshotWithTtl(undefined));
  const change = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[1]));
  assert.deepEqual(
    change.resources.map((r) => [r.name, r.ttl]),
    [["a", undefined]],
    "the same cluster without a TTL is a new version",
  );
  assert.equal(h.timers.intervals.size, 0);
  h.stream.close("test over");
});

test("withTtl refuses a TTL under a second", () => {
  assert.throws(() => withTtl(edsCluster("x"), 500), /at least 1000/);
});
