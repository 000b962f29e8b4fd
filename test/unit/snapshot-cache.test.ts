// Snapshots and the cache: versions, consistency, defaults, watches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../../src/cache/snapshot.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { DuplicateResourceError, SnapshotInconsistentError, UnknownTypeError } from "../../src/errors.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { create } from "@bufbuild/protobuf";
import { NodeSchema } from "../../src/gen/envoy/config/core/v3/base_pb.js";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { edsCluster, endpoints, httpListener, routeTo } from "../support/resources.js";

test("versions are content hashes: equal content, equal version, across snapshots", () => {
  const a = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]);
  const b = Snapshot.from([endpoints("a", "10.0.0.1:80"), edsCluster("a")]);
  assert.equal(a.typeVersion(TypeUrl.Cluster), b.typeVersion(TypeUrl.Cluster));
  assert.equal(a.resources(TypeUrl.ClusterLoadAssignment).get("a")!.version, b.resources(TypeUrl.ClusterLoadAssignment).get("a")!.version);
  const c = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.2:80")]);
  assert.notEqual(a.resources(TypeUrl.ClusterLoadAssignment).get("a")!.version, c.resources(TypeUrl.ClusterLoadAssignment).get("a")!.version);
  assert.equal(a.typeVersion(TypeUrl.Cluster), c.typeVersion(TypeUrl.Cluster), "an unchanged type keeps its version");
});

test("update() re-encodes only what changed and keeps the bytes of the rest", () => {
  const v1 = Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", "10.0.0.1:80"), endpoints("b", "10.0.0.2:80")]);
  const v2 = v1.update({ upsert: [endpoints("a", "10.0.0.9:80")] });
  assert.equal(v2.resources(TypeUrl.ClusterLoadAssignment).get("b"), v1.resources(TypeUrl.ClusterLoadAssignment).get("b"));
  assert.notEqual(v2.resources(TypeUrl.ClusterLoadAssignment).get("a")!.version, v1.resources(TypeUrl.ClusterLoadAssignment).get("a")!.version);
  const v3 = v2.update({
    remove: [
      { typeUrl: TypeUrl.Cluster, name: "b" },
      { typeUrl: TypeUrl.ClusterLoadAssignment, name: "b" },
    ],
  });
  assert.deepEqual([...v3.resources(TypeUrl.Cluster).keys()], ["a"]);
  assert.equal(v1.resources(TypeUrl.Cluster).size, 2, "the old snapshot is unchanged");
  assert.throws(() => v1.update({ upsert: [edsCluster("c"), edsCluster("c")] }), DuplicateResourceError);
});

test("duplicate names and unknown types are refused", () => {
  assert.throws(() => Snapshot.from([edsCluster("a"), edsCluster("a")]), DuplicateResourceError);
  assert.throws(() => Snapshot.from([create(NodeSchema, { id: "x" }) as never]), UnknownTypeError);
  assert.throws(() => Snapshot.from([create(DurationSchema) as never]), UnknownTypeError);
});

test("an inconsistent snapshot is refused with the missing resources named, and nothing is published", () => {
  const cache = new SnapshotCache();
  const good = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]);
  cache.setSnapshot("k", good);
  const bad = Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", "10.0.0.1:80"), httpListener("l", "routes")]);
  assert.throws(
    () => cache.setSnapshot("k", bad),
    (e: unknown) => {
      assert.ok(e instanceof SnapshotInconsistentError);
      assert.equal(e.code, "XDSD_SNAPSHOT_INCONSISTENT");
      assert.deepEqual(e.missing.map((m) => m.to).sort(), ["b", "routes"]);
      assert.match(e.message, /Cluster "b" references ClusterLoadAssignment "b", which is missing/);
      assert.match(e.message, /Listener "l" references RouteConfiguration "routes", which is missing/);
      return true;
    },
  );
  assert.equal(cache.snapshotFor("k"), good);
  // With the missing resources added, the same snapshot is accepted and published.
  const fixed = bad.update({ upsert: [endpoints("b", "10.0.0.2:80"), routeTo("routes", "a")] });
  cache.setSnapshot("k", fixed);
  assert.equal(cache.snapshotFor("k"), fixed);
});

test("nodes without a snapshot of their own get the default one, and are pushed it when it changes", () => {
  const cache = new SnapshotCache();
  const seen: Snapshot[] = [];
  const cancel = cache.watch("group/x", (s) => seen.push(s));
  const d1 = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]);
  cache.setDefaultSnapshot(d1);
  assert.deepEqual(seen, [d1]);
  const own = Snapshot.from([]);
  cache.setSnapshot("group/x", own);
  cache.setDefaultSnapshot(Snapshot.from([]));
  assert.deepEqual(seen, [d1, own], "a node with its own snapshot is not pushed the default");
  cache.clearSnapshot("group/x");
  assert.equal(seen.length, 3);
  cancel();
  assert.equal(cache.watchedKeyCount(), 0);
});

test("the node hash is pluggable: one snapshot shared by a whole cluster of proxies", () => {
  const cache = new SnapshotCache({ nodeHash: (n) => n.cluster });
  assert.equal(cache.nodeKey(create(NodeSchema, { id: "sidecar-1", cluster: "payments" })), "payments");
  assert.equal(new SnapshotCache().nodeKey(create(NodeSchema, { id: "node0", cluster: "cluster.local" })), "cluster.local/node0");
});

test("replaceAll pushes only to keys whose snapshot changed", () => {
  const cache = new SnapshotCache();
  const s1 = Snapshot.from([]);
  cache.replaceAll(s1, new Map([["own", s1]]));
  const pushed: string[] = [];
  cache.watch("own", () => pushed.push("own"));
  cache.watch("other", () => pushed.push("other"));
  const s2 = Snapshot.from([edsCluster("a"), endpoints("a", "1.1.1.1:1")]);
  cache.replaceAll(s2, new Map([["own", s1]]));
  assert.deepEqual(pushed, ["other"]);
  cache.replaceAll(s2, new Map());
  assert.deepEqual(pushed, ["other", "own"]);
});
