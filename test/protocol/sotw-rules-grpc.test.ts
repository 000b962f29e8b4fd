// Each state-of-the-world rule of the core issue, once more over a real gRPC stream (the unit tests in
// test/unit/sotw-stream.test.ts prove them on the state machine alone).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { ClusterSchema } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { DiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, httpListener, node, routeTo, twoClusters } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

const cache = new SnapshotCache();
const server = new XdsServer({ cache });
let address = "";
const clients: RawXdsClient[] = [];
let nodeSeq = 0;

/** A client on its own node key, with that key's snapshot set. */
function connect(snapshot: Snapshot): { c: RawXdsClient; key: string; id: string } {
  const id = `rule-${++nodeSeq}`;
  cache.setSnapshot(`test/${id}`, snapshot);
  const c = new RawXdsClient(address);
  clients.push(c);
  return { c, key: `test/${id}`, id };
}

const names = (r: DiscoveryResponse) =>
  r.resources.map((a) => (r.typeUrl === CDS ? anyUnpack(a, ClusterSchema)!.name : anyUnpack(a, ClusterLoadAssignmentSchema)!.clusterName)).sort();

before(async () => {
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
});
after(async () => {
  for (const c of clients) c.close();
  await server.close(500);
});

test("each type has its own version and every response a unique nonce", async () => {
  const { c, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  c.send({ typeUrl: EDS, resourceNames: ["a", "b"] });
  const [r1, r2] = [await c.next(), await c.next()];
  assert.notEqual(r1.nonce, r2.nonce);
  assert.notEqual(r1.versionInfo, r2.versionInfo);
  assert.deepEqual([r1.typeUrl, r2.typeUrl].sort(), [CDS, EDS].sort());
});

test("a stale nonce is not answered; the newer response's ACK is", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: EDS, resourceNames: ["a"] });
  const r1 = await c.next();
  c.ack(r1, ["a"]);
  cache.setSnapshot(key, twoClusters("10.0.0.3:80"));
  const r2 = await c.next();
  c.send({ typeUrl: EDS, responseNonce: r1.nonce, versionInfo: r1.versionInfo, resourceNames: ["a", "b"] });
  await c.expectSilence(300);
  c.ack(r2, ["a", "b"]);
  const r3 = await c.next();
  assert.deepEqual(names(r3), ["b"], "the newly named resource, and only it");
});

test("EDS is answered while the CDS response is unacknowledged", async () => {
  const { c, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  assert.equal((await c.next()).typeUrl, CDS);
  c.send({ typeUrl: EDS, resourceNames: ["a", "b"] }); // no CDS ACK sent, as Envoy does while clusters warm
  const eds = await c.next();
  assert.equal(eds.typeUrl, EDS);
  assert.deepEqual(names(eds), ["a", "b"]);
});

test("legacy wildcard: [] is everything, then ['a'] narrows and [] means nothing", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS, resourceNames: [] });
  const r1 = await c.next();
  assert.deepEqual(names(r1), ["a", "b"]);
  c.ack(r1, ["a"]);
  await c.expectSilence(200);
  cache.setSnapshot(
    key,
    Snapshot.from([edsCluster("a"), edsCluster("b"), edsCluster("c"), endpoints("a", "1.1.1.1:1"), endpoints("b", "1.1.1.1:2"), endpoints("c", "1.1.1.1:3")]),
  );
  await c.expectSilence(200); // cluster c is not subscribed, a did not change
  c.send({ typeUrl: CDS, responseNonce: r1.nonce, versionInfo: r1.versionInfo, resourceNames: ["*"] });
  const r2 = await c.next();
  assert.deepEqual(names(r2), ["a", "b", "c"], "an explicit * is wildcard again");
});

test("unsubscribe then resubscribe resends an unchanged resource", async () => {
  const { c, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: EDS, resourceNames: ["a", "b"] });
  const r1 = await c.next();
  c.ack(r1, ["a"]);
  await c.expectSilence(200);
  c.ack(r1, ["a", "b"]);
  const r2 = await c.next();
  assert.deepEqual(names(r2), ["b"]);
});

test("the node is taken from the first request; later requests without it are served", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  c.ack(await c.next());
  c.send({ typeUrl: EDS, resourceNames: ["a"] });
  assert.deepEqual(names(await c.next()), ["a"]);
  // The stream kept the node of its first request: it is identified under that node's key.
  const stream = server.streams().find((s) => s.node?.id === id);
  assert.equal(stream?.nodeKey, key);
});

test("CDS responses carry the full set (removal = absence); EDS responses only what changed", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  const cds1 = await c.next();
  c.ack(cds1);
  c.send({ typeUrl: EDS, resourceNames: ["a", "b"] });
  const eds1 = await c.next();
  c.ack(eds1, ["a", "b"]);
  cache.setSnapshot(key, twoClusters("10.0.0.9:80"));
  const eds2 = await c.next();
  assert.deepEqual(names(eds2), ["a"], "only the changed assignment");
  c.ack(eds2, ["a", "b"]);
  cache.setSnapshot(key, Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.9:80"), endpoints("b", "10.0.0.2:80")]));
  const cds2 = await c.next();
  assert.equal(cds2.typeUrl, CDS);
  assert.deepEqual(names(cds2), ["a"], "b is deleted by its absence from a full CDS response");
});

test("ADS pushes a change that touches every type in the order CDS, EDS, LDS, RDS", async () => {
  const v1 = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80"), httpListener("l", "r"), routeTo("r", "a")]);
  const { c, key, id } = connect(v1);
  c.send({ node: node(id), typeUrl: RDS, resourceNames: ["r"] });
  c.send({ typeUrl: LDS });
  c.send({ typeUrl: EDS, resourceNames: ["a", "b"] });
  c.send({ typeUrl: CDS });
  for (let i = 0; i < 4; i++) {
    const r = await c.next();
    c.ack(r, r.typeUrl === RDS ? ["r"] : r.typeUrl === EDS ? ["a", "b"] : []);
  }
  await c.expectSilence(100);
  cache.setSnapshot(
    key,
    Snapshot.from([
      edsCluster("a"),
      edsCluster("b"),
      endpoints("a", "10.0.0.1:80"),
      endpoints("b", "10.0.0.2:80"),
      httpListener("l", "r", 10001),
      routeTo("r", "b"),
    ]),
  );
  const order = [];
  for (let i = 0; i < 4; i++) order.push((await c.next()).typeUrl);
  assert.deepEqual(order, [CDS, EDS, LDS, RDS]);
});
