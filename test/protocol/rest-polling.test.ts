// REST-JSON polling on the wire (HTTP/1.1 and h2c on the xDS port, no Envoy): 200 with a DiscoveryResponse whose
// resources are the same bytes the gRPC protocols send, 304 when the poll's version is current, 400/404/405/413/
// 415/503 with a reason, ACKs and NACKs recorded (explicit by error_detail, and Envoy's way: polling again with the
// version held before), and rejected content not sent again.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { restServices } from "../../src/server/protocol/rest-service.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { RawXdsClient } from "../support/xds-client.js";
import { poll } from "../support/rest-client.js";
import { edsCluster, endpoints, node, twoClusters } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const cache = new SnapshotCache();
const server = new XdsServer({ cache, maxRequestBytes: 64 * 1024 });
const status = new NodeStatuses(server);
const restOnly = new XdsServer({ cache, services: restServices });
let address = "";
let restOnlyAddress = "";
let seq = 0;

function client(snapshot?: Snapshot): { id: string; key: string } {
  const id = `rest-${++seq}`;
  if (snapshot) cache.setSnapshot(`test/${id}`, snapshot);
  return { id, key: `test/${id}` };
}

before(async () => {
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  restOnlyAddress = `127.0.0.1:${await restOnly.listen("127.0.0.1:0")}`;
});
after(async () => {
  await server.close(500);
  await restOnly.close(500);
});

test("HTTP/1.1: a wildcard CDS poll gets every cluster, the same bytes as gRPC; the same version again is 304 and an ACK", async () => {
  const { id } = client(twoClusters());
  const first = await poll(address, "/v3/discovery:clusters", { node: node(id), typeUrl: CDS });
  assert.equal(first.status, 200);
  assert.equal(first.contentType, "application/json");
  const r = first.response!;
  assert.deepEqual(
    r.resources.map((x) => x.typeUrl),
    [CDS, CDS],
  );
  assert.ok(r.versionInfo);
  assert.equal(r.typeUrl, CDS);

  const grpc = new RawXdsClient(address);
  grpc.send({ node: node(`${id}-grpc`), typeUrl: CDS });
  cache.setSnapshot(`test/${id}-grpc`, twoClusters());
  const sotw = await grpc.next();
  grpc.close();
  assert.equal(sotw.versionInfo, r.versionInfo, "SotW and REST give a subscription the same version");
  assert.deepEqual(
    r.resources.map((x) => Buffer.from(x.value).toString("hex")),
    sotw.resources.map((x) => Buffer.from(x.value).toString("hex")),
  );

  const again = await poll(address, "/v3/discovery:clusters", { node: node(id), typeUrl: CDS, versionInfo: r.versionInfo });
  assert.equal(again.status, 304);
  assert.equal(again.text, "");
  const s = status.get(`test/${id}`)!;
  assert.equal(s.types.cds.ackedVersion, r.versionInfo);
  assert.deepEqual(s.services, { "rest-cds": 1 });
});

test("h2c: named EDS polls get only the names asked for, and a change a new version", async () => {
  const { id, key } = client(twoClusters());
  const ask = (versionInfo = "") => poll(address, "/v3/discovery:endpoints", { node: node(id), resourceNames: ["a"], versionInfo }, { http2: true });
  const first = await ask();
  assert.equal(first.status, 200);
  assert.equal(first.response!.resources.length, 1);
  assert.equal((await ask(first.response!.versionInfo)).status, 304);
  cache.setSnapshot(key, twoClusters("10.0.0.7:80"));
  const changed = await ask(first.response!.versionInfo);
  assert.equal(changed.status, 200);
  assert.notEqual(changed.response!.versionInfo, first.response!.versionInfo);
  assert.ok(Buffer.from(changed.response!.resources[0].value).includes(Buffer.from("10.0.0.7")));
});

test("Envoy's way of rejecting (polling again with the version it held) is a NACK; the rejected content is not resent", async () => {
  const { id, key } = client(twoClusters());
  const ask = (versionInfo: string) => poll(address, "/v3/discovery:clusters", { node: node(id), versionInfo });
  const v1 = (await ask("")).response!.versionInfo;
  cache.setSnapshot(key, Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]));
  const v2 = (await ask(v1)).response!.versionInfo;
  assert.notEqual(v2, v1);
  // The client rejected v2: it polls with v1 again.
  const rejected = await ask(v1);
  assert.equal(rejected.status, 304, "the content it rejected is not sent again");
  const cds = status.get(`test/${id}`)!.types.cds;
  assert.equal(cds.nacks, 1);
  assert.equal(cds.lastNack?.rejectedVersion, v2);
  assert.equal(cds.lastNack?.keptVersion, v1);
  assert.equal((await ask(v1)).status, 304);
  assert.equal(status.get(`test/${id}`)!.types.cds.nacks, 1, "one rejection is recorded once");
  // A client that holds nothing (a restart) is always answered.
  assert.equal((await ask("")).status, 200);
  // New content is sent.
  cache.setSnapshot(key, twoClusters("10.0.0.8:80").update({ upsert: [edsCluster("c"), endpoints("c", "10.0.0.3:80")] }));
  const v3 = await ask(v1);
  assert.equal(v3.status, 200);
  assert.equal(v3.response!.resources.length, 3);
});

test("an explicit NACK (error_detail, nonce of the response) is recorded and the content is not resent", async () => {
  const { id, key } = client(twoClusters());
  const first = (await poll(address, "/v3/discovery:clusters", { node: node(id) })).response!;
  cache.setSnapshot(key, Snapshot.from([edsCluster("z"), endpoints("z", "10.0.0.1:80")]));
  const second = (await poll(address, "/v3/discovery:clusters", { node: node(id), versionInfo: first.versionInfo })).response!;
  const nack = await poll(address, "/v3/discovery:clusters", {
    node: node(id),
    versionInfo: first.versionInfo,
    responseNonce: second.nonce,
    errorDetail: { code: 3, message: "cluster z: bad" },
  });
  assert.equal(nack.status, 304);
  const cds = status.get(`test/${id}`)!.types.cds;
  assert.deepEqual([cds.nacks, cds.lastNack?.rejectedVersion, cds.lastNack?.message], [1, second.versionInfo, "cluster z: bad"]);
});

test("errors: 400 (not JSON, a wrong field type, no node, another type), 404, 405, 413, 415, 503 — each with a reason", async () => {
  const { id } = client(twoClusters());
  const cases: [string, Promise<{ status: number; text: string }>, number, RegExp][] = [
    ["not JSON", poll(address, "/v3/discovery:clusters", undefined, { rawBody: "{nope" }), 400, /not a DiscoveryRequest in proto3 JSON/],
    [
      "wrong type",
      poll(address, "/v3/discovery:clusters", undefined, { rawBody: '{"node":{"id":"x"},"resourceNames":7}' }),
      400,
      /resource_names|resourceNames/,
    ],
    ["no node", poll(address, "/v3/discovery:clusters", {}), 400, /must carry the node/],
    ["type mismatch", poll(address, "/v3/discovery:clusters", { node: node(id), typeUrl: EDS }), 400, /does not match \/v3\/discovery:clusters/],
    [
      "unknown type",
      poll(address, "/v3/discovery:widgets", { node: node(id) }),
      404,
      /no discovery service at \/v3\/discovery:widgets.*\/v3\/discovery:clusters/,
    ],
    ["GET", poll(address, "/v3/discovery:clusters", undefined, { method: "GET" }), 405, /takes POST/],
    ["too big", poll(address, "/v3/discovery:clusters", undefined, { rawBody: `{"x":"${"a".repeat(70_000)}"}` }), 413, /over the limit of 65536 bytes/],
    ["not JSON content", poll(address, "/v3/discovery:clusters", { node: node(id) }, { contentType: "text/plain" }), 415, /application\/json/],
    ["no snapshot", poll(address, "/v3/discovery:clusters", { node: node("nobody") }), 503, /no configuration is published for node "test\/nobody"/],
    ["h2c 404", poll(address, "/v3/discovery:widgets", { node: node(id) }, { http2: true }), 404, /no discovery service/],
  ];
  for (const [what, pending, expected, reason] of cases) {
    const r = await pending;
    assert.equal(r.status, expected, what);
    const body = JSON.parse(r.text) as { status: number; detail: string; code: string };
    assert.match(body.detail, reason, what);
    assert.equal(body.status, expected, what);
    assert.match(body.code, /^XDSD_/, what);
  }
});

test("a REST-only server (--rest-listen) answers polls and refuses gRPC calls", async () => {
  const { id } = client(twoClusters());
  assert.equal((await poll(restOnlyAddress, "/v3/discovery:clusters", { node: node(id) })).status, 200);
  const grpc = new RawXdsClient(restOnlyAddress);
  grpc.send({ node: node(id), typeUrl: CDS });
  const end = await grpc.status;
  assert.equal(end.code, 12);
  assert.match(end.details, /unknown method/);
  grpc.close();
});
