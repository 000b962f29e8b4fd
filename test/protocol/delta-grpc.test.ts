// The incremental protocol over the wire (raw gRPC client against XdsServer's node:http2 transport): delta ADS and
// a per-type Delta* service, subscribe/unsubscribe, removed_resources, reconnect with initial_resource_versions,
// NACK, and the same resource bytes as SotW. The state machine's rules one by one are in unit/delta-stream.test.ts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { ClusterLoadAssignmentSchema } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { DeltaDiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { RawDeltaClient, RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, node, twoClusters } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const cache = new SnapshotCache();
const server = new XdsServer({ cache });
const status = new NodeStatuses(server);
let address = "";
const clients: { close(): void }[] = [];
let seq = 0;

function connect(snapshot: Snapshot, method?: string): { c: RawDeltaClient; id: string; key: string } {
  const id = `delta-${++seq}`;
  cache.setSnapshot(`test/${id}`, snapshot);
  const c = new RawDeltaClient(address, method);
  clients.push(c);
  return { c, id, key: `test/${id}` };
}
const names = (r: DeltaDiscoveryResponse) => r.resources.map((x) => x.name).sort();

before(async () => {
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
});
after(async () => {
  for (const c of clients) c.close();
  await server.close(500);
});

test("delta ADS: wildcard CDS, named EDS, a change sends one resource, a removal is removed_resources", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  const cds = await c.next();
  assert.deepEqual(names(cds), ["a", "b"]);
  assert.ok(cds.nonce && cds.systemVersionInfo && cds.resources.every((r) => r.version.length > 0));
  c.ack(cds);
  c.send({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"] });
  const eds = await c.next();
  assert.deepEqual(names(eds), ["a", "b"]);
  c.ack(eds);
  cache.setSnapshot(key, twoClusters("10.0.0.9:80"));
  const change = await c.next();
  assert.deepEqual([change.typeUrl, names(change)], [EDS, ["a"]]);
  const host = anyUnpack(change.resources[0].resource!, ClusterLoadAssignmentSchema)!.endpoints[0].lbEndpoints[0].hostIdentifier;
  const socket = host.case === "endpoint" && host.value.address?.address.case === "socketAddress" ? host.value.address.address.value : undefined;
  assert.equal(socket?.address, "10.0.0.9");
  c.ack(change);
  cache.setSnapshot(key, Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.9:80")]));
  const removal = [await c.next(), await c.next()].sort((x, y) => x.typeUrl.localeCompare(y.typeUrl));
  assert.deepEqual(
    removal.map((r) => [r.typeUrl, names(r), r.removedResources]),
    [
      [CDS, [], ["b"]],
      [EDS, [], ["b"]],
    ],
  );
  await c.expectSilence(200);
});

test("a per-type Delta* service serves its type with an empty type_url", async () => {
  const { c, id } = connect(twoClusters(), "/envoy.service.endpoint.v3.EndpointDiscoveryService/DeltaEndpoints");
  c.send({ node: node(id), resourceNamesSubscribe: ["b", "ghost"] });
  const r = await c.next();
  assert.deepEqual([r.typeUrl, names(r), r.removedResources], [EDS, ["b"], ["ghost"]]);
});

test("reconnect with initial_resource_versions: only what differs, and what is gone", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  const first = await c.next();
  const held = Object.fromEntries(first.resources.map((r) => [r.name, r.version]));
  c.close();
  const again = new RawDeltaClient(address);
  clients.push(again);
  again.send({ node: node(id), typeUrl: CDS, initialResourceVersions: held });
  await again.expectSilence(300);
  again.close();
  const slow = edsCluster("a");
  slow.connectTimeout = { $typeName: "google.protobuf.Duration", seconds: 3n, nanos: 0 };
  cache.setSnapshot(key, Snapshot.from([slow, endpoints("a", "10.0.0.1:80")]));
  const third = new RawDeltaClient(address);
  clients.push(third);
  third.send({ node: node(id), typeUrl: CDS, initialResourceVersions: held });
  const r = await third.next();
  assert.deepEqual([names(r), r.removedResources], [["a"], ["b"]]);
});

test("a NACK is recorded for the node and the rejected content is not resent", async () => {
  const { c, key, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  c.ack(await c.next());
  cache.setSnapshot(key, twoClusters("10.0.0.8:80"));
  const bad = await c.next();
  c.ack(bad, { errorDetail: { code: 13, message: "rejected by the test" } });
  await c.expectSilence(300);
  const nodeStatus = status.list().find((n) => n.node.endsWith(id))!;
  assert.equal(nodeStatus.types.eds.nacks, 1);
  assert.equal(nodeStatus.types.eds.lastNack?.message, "rejected by the test");
  assert.deepEqual(nodeStatus.services, { "delta-ads": 1 }, "the node's stream is a delta ADS stream");
});

test("the resource bytes a delta stream gets are the bytes a SotW stream gets", async () => {
  const { c, id } = connect(twoClusters());
  c.send({ node: node(id), typeUrl: CDS });
  const delta = await c.next();
  const sotw = new RawXdsClient(address);
  clients.push(sotw);
  sotw.send({ node: node(id), typeUrl: CDS });
  const full = await sotw.next();
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  assert.deepEqual(delta.resources.map((r) => hex(r.resource!.value)).sort(), full.resources.map((a) => hex(a.value)).sort());
});
