// The SotW protocol over real gRPC: a raw client against a listening XdsServer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { ClusterSchema } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, node, twoClusters } from "../support/resources.js";

const cache = new SnapshotCache();
const server = new XdsServer({ cache, controlPlaneId: "xdsd-test" });
const nodes = new NodeStatuses(server);
let address = "";
const clients: RawXdsClient[] = [];
const client = (method?: string) => {
  const c = new RawXdsClient(address, method);
  clients.push(c);
  return c;
};

before(async () => {
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
});
after(async () => {
  for (const c of clients) c.close();
  await server.close(500);
});

test("ADS: CDS then EDS, decoded as real Envoy messages, with control_plane set", async () => {
  cache.setSnapshot("test/p1", twoClusters());
  const c = client();
  c.send({ node: node("p1"), typeUrl: TypeUrl.Cluster });
  const cds = await c.next();
  assert.equal(cds.typeUrl, TypeUrl.Cluster);
  assert.equal(cds.controlPlane?.identifier, "xdsd-test");
  const clusters = cds.resources.map((a) => anyUnpack(a, ClusterSchema)!.name).sort();
  assert.deepEqual(clusters, ["a", "b"]);
  c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a", "b"] });
  const eds = await c.next();
  const clas = eds.resources.map((a) => anyUnpack(a, ClusterLoadAssignmentSchema)!);
  assert.deepEqual(clas.map((x) => x.clusterName).sort(), ["a", "b"]);
  assert.notEqual(cds.nonce, eds.nonce);
});

test("ACK then push; NACK recorded and the rejected version not resent; the next good one is", async () => {
  cache.setSnapshot("test/p2", twoClusters());
  const c = client();
  c.send({ node: node("p2"), typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a"] });
  const r1 = await c.next();
  c.ack(r1, ["a"]);
  await c.expectSilence(200);
  cache.setSnapshot("test/p2", Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", "10.0.0.9:80"), endpoints("b", "10.0.0.2:80")]));
  const r2 = await c.next();
  assert.notEqual(r2.versionInfo, r1.versionInfo);
  c.send({
    typeUrl: r2.typeUrl,
    versionInfo: r1.versionInfo,
    responseNonce: r2.nonce,
    resourceNames: ["a"],
    errorDetail: create(StatusSchema, { code: 13, message: "rejected on purpose" }),
  });
  await c.expectSilence(400);
  const status = nodes.get("test/p2")!;
  assert.equal(status.types.eds.nacks, 1);
  assert.equal(status.types.eds.lastNack?.message, "rejected on purpose");
  assert.equal(status.types.eds.lastNack?.rejectedVersion, r2.versionInfo);
  assert.equal(status.types.eds.ackedVersion, r1.versionInfo);
  cache.setSnapshot("test/p2", Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", "10.0.0.10:80"), endpoints("b", "10.0.0.2:80")]));
  const r3 = await c.next();
  c.ack(r3, ["a"]);
  await c.expectSilence(100);
  assert.equal(nodes.get("test/p2")!.types.eds.ackedVersion, r3.versionInfo);
  assert.equal(nodes.get("test/p2")!.types.eds.lastNack, undefined);
});

test("per-type service: EndpointDiscoveryService.StreamEndpoints with an empty type_url", async () => {
  cache.setSnapshot("test/p3", twoClusters());
  const c = client("/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints");
  c.send({ node: node("p3"), resourceNames: ["b"] });
  const r = await c.next();
  assert.equal(r.typeUrl, TypeUrl.ClusterLoadAssignment);
  assert.deepEqual(
    r.resources.map((a) => anyUnpack(a, ClusterLoadAssignmentSchema)!.clusterName),
    ["b"],
  );
});

test("a stream whose first request has no node ends with INVALID_ARGUMENT", async () => {
  const c = client();
  c.send({ typeUrl: TypeUrl.Cluster });
  const status = await c.status;
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(status.details, /node/);
});

test("a node's bookkeeping is freed when its last stream closes", async () => {
  cache.setSnapshot("test/p4", twoClusters());
  const a = client();
  const b = client();
  for (const c of [a, b]) c.send({ node: node("p4"), typeUrl: TypeUrl.Cluster });
  await a.next();
  await b.next();
  assert.equal(nodes.get("test/p4")?.streams, 2);
  a.close();
  await waitUntil(() => nodes.get("test/p4")?.streams === 1);
  b.close();
  await waitUntil(() => nodes.get("test/p4") === undefined);
});

test("closing the server ends open streams with UNAVAILABLE", async () => {
  const local = new XdsServer({ cache });
  const port = await local.listen("127.0.0.1:0");
  cache.setSnapshot("test/p5", twoClusters());
  const c = new RawXdsClient(`127.0.0.1:${port}`);
  c.send({ node: node("p5"), typeUrl: TypeUrl.Cluster });
  await c.next();
  await local.close(500);
  const status = await c.status;
  assert.equal(status.code, grpc.status.UNAVAILABLE);
  c.close();
});

async function waitUntil(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
