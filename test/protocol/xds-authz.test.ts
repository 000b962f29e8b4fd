// Node identity authorization over real mutual TLS (issue 19 item 2): a client is served a node group only if the
// identity of its certificate matches the group's identities (Snapshot.readers, from `identities:`), over SotW,
// delta and REST; otherwise PERMISSION_DENIED (REST: 403) naming the node key and the identity, and not one
// resource. Patterns, the default snapshot, and a reload that takes access away from an open stream or gives it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import https from "node:https";
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { TlsCredentials } from "../../src/server/transport/tls-credentials.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientStatusRequestSchema, ClientStatusResponseSchema, type ClientStatusResponse } from "../../src/gen/envoy/service/status/v3/csds_pb.js";
import type { StreamInfo } from "../../src/server/observers/events.js";
import { RawDeltaClient, RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, node } from "../support/resources.js";
import { TestCa, type Issued } from "../support/certs.js";

const scratch = mkdtempSync(join(tmpdir(), "xdsd-authz-"));
const ca = new TestCa("authz", scratch);
const serverCert = ca.issue("xdsd", { san: ["DNS:localhost", "IP:127.0.0.1"] });
const edgeA = ca.issue("edge-a", { san: ["URI:spiffe://acme.test/edge/a", "DNS:edge-a.acme.test"] });
const dbClient = ca.issue("db", { san: ["URI:spiffe://acme.test/db/primary"] });
const dnsClient = ca.issue("dns", { san: ["DNS:Cache-1.Edge.acme.test"] });
const anonymous = ca.issue("anonymous", {});

const clusterOnly = (name: string, readers?: string[]) => Snapshot.from([edsCluster(name), endpoints(name, "10.0.0.1:80")], readers);

const cache = new SnapshotCache();
function publishGroups(groups: Record<string, Snapshot>, defaults = clusterOnly("default")): void {
  cache.replaceAll(defaults, new Map(Object.entries(groups)));
}
publishGroups({
  "test/edge-a": clusterOnly("edge", ["spiffe://acme.test/edge/*"]),
  "test/db": clusterOnly("db", ["spiffe://acme.test/db/primary"]),
  "test/cache": clusterOnly("cache", ["*.edge.acme.test"]),
  "test/open": clusterOnly("open"),
});

const denials: { info: StreamInfo; reason: string }[] = [];
const server = new XdsServer({
  cache,
  tls: TlsCredentials.load({ cert: serverCert.cert, key: serverCert.key, clientCa: ca.cert }),
  events: { denied: (info, reason) => denials.push({ info, reason }) },
});
const port = await server.listen("127.0.0.1:0");
const cleanups: (() => void)[] = [];
after(async () => {
  for (const c of cleanups) c();
  await server.close(200);
});

function credentials(client: Issued): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(ca.cert), readFileSync(client.key), readFileSync(client.cert));
}
function sotw(client: Issued): RawXdsClient {
  const c = new RawXdsClient(`localhost:${port}`, undefined, { credentials: credentials(client) });
  cleanups.push(() => c.close());
  return c;
}
function delta(client: Issued): RawDeltaClient {
  const c = new RawDeltaClient(`localhost:${port}`, undefined, { credentials: credentials(client) });
  cleanups.push(() => c.close());
  return c;
}

/** How a stream ended, within 5 s (a stream that is served instead never ends: that is a failure, not a hang). */
function ended(c: RawXdsClient | RawDeltaClient): Promise<grpc.StatusObject> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("the stream did not end within 5 s")), 5000)));
  return Promise.race([c.status, late]).finally(() => clearTimeout(timer));
}

function poll(client: Issued, nodeId: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        servername: "localhost",
        path: "/v3/discovery:clusters",
        method: "POST",
        headers: { "content-type": "application/json" },
        ca: readFileSync(ca.cert),
        key: readFileSync(client.key),
        cert: readFileSync(client.cert),
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ node: { id: nodeId, cluster: "test" } }));
  });
}

test("SotW: an identity the group lists (by pattern) is served; another node's group is PERMISSION_DENIED with nothing sent", async () => {
  const allowed = sotw(edgeA);
  allowed.send({ node: node("edge-a"), typeUrl: TypeUrl.Cluster });
  assert.deepEqual((await allowed.next(5000)).resources.length, 1);

  // The same certificate claims the database's node id: nothing of that group reaches it.
  const claimer = sotw(edgeA);
  claimer.send({ node: node("db"), typeUrl: TypeUrl.Cluster });
  const status = await ended(claimer);
  assert.equal(status.code, grpc.status.PERMISSION_DENIED, status.details);
  assert.match(status.details, /identity "spiffe:\/\/acme\.test\/edge\/a" may not be served the config of node "test\/db"/);
  await claimer.expectSilence(0);
  assert.equal(denials.at(-1)?.info.identity, "spiffe://acme.test/edge/a");
  assert.equal(denials.at(-1)?.info.protocol, "sotw");
});

test("delta: PERMISSION_DENIED for a group the identity is not in, before any response; served where it is", async () => {
  const claimer = delta(dbClient);
  claimer.send({ node: node("edge-a"), typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: ["*"] });
  const status = await ended(claimer);
  assert.equal(status.code, grpc.status.PERMISSION_DENIED, status.details);
  assert.match(status.details, /identity "spiffe:\/\/acme\.test\/db\/primary" may not be served the config of node "test\/edge-a"/);
  await claimer.expectSilence(0);

  const owner = delta(dbClient);
  owner.send({ node: node("db"), typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: ["*"] });
  assert.deepEqual(
    (await owner.next(5000)).resources.map((r) => r.name),
    ["db"],
  );
});

test("REST: 403 with the node key and identity, and no resource, for a group the identity is not in; 200 where it is", async () => {
  const denied = await poll(edgeA, "db");
  assert.equal(denied.status, 403, denied.body);
  const body = JSON.parse(denied.body) as { code: string; detail: string };
  assert.equal(body.code, "XDSD_HTTP_PERMISSION_DENIED");
  assert.match(body.detail, /identity "spiffe:\/\/acme\.test\/edge\/a" may not be served the config of node "test\/db"/);
  assert.doesNotMatch(denied.body, /type\.googleapis\.com/);
  assert.equal(denials.at(-1)?.info.protocol, "rest");

  const served = await poll(dbClient, "db");
  assert.equal(served.status, 200, served.body);
  assert.match(served.body, /"name":"db"/);
});

test("patterns: *.edge.acme.test lets in one DNS label in any letter case; a certificate without an identity is refused a listed group but served an open one", async () => {
  const c = sotw(dnsClient);
  c.send({ node: node("cache"), typeUrl: TypeUrl.Cluster });
  assert.equal((await c.next(5000)).resources[0] !== undefined, true);

  const nameless = sotw(anonymous);
  nameless.send({ node: node("cache"), typeUrl: TypeUrl.Cluster });
  const status = await ended(nameless);
  assert.equal(status.code, grpc.status.PERMISSION_DENIED);
  assert.match(status.details, /a client certificate that names no identity .* node "test\/cache"/);

  const open = sotw(anonymous);
  open.send({ node: node("open"), typeUrl: TypeUrl.Cluster });
  assert.equal((await open.next(5000)).resources.length, 1);
});

test("reload: a stream whose identity the new config no longer lets in ends with PERMISSION_DENIED at the push, sent nothing of it; one it now lets in is served", async () => {
  const c = sotw(edgeA);
  c.send({ node: node("edge-a"), typeUrl: TypeUrl.Cluster });
  const first = await c.next(5000);
  c.ack(first);
  const refused = sotw(edgeA);
  refused.send({ node: node("db"), typeUrl: TypeUrl.Cluster });
  assert.equal((await ended(refused)).code, grpc.status.PERMISSION_DENIED);

  // New content for edge-a, now readable by the database only; db's group now lets the edge in.
  publishGroups({
    "test/edge-a": Snapshot.from(
      [edsCluster("edge"), edsCluster("edge-2"), endpoints("edge", "10.0.0.1:80"), endpoints("edge-2", "10.0.0.2:80")],
      ["spiffe://acme.test/db/primary"],
    ),
    "test/db": clusterOnly("db", ["spiffe://acme.test/db/primary", "spiffe://acme.test/edge/a"]),
  });
  const status = await ended(c);
  assert.equal(status.code, grpc.status.PERMISSION_DENIED, status.details);
  await c.expectSilence(0);

  const now = sotw(edgeA);
  now.send({ node: node("db"), typeUrl: TypeUrl.Cluster });
  assert.deepEqual((await now.next(5000)).resources.length, 1);
});

test("the default snapshot: nodes in no group are held to the top level's identities", async () => {
  publishGroups({}, clusterOnly("default", ["spiffe://acme.test/db/*"]));
  const c = sotw(edgeA);
  c.send({ node: node("nobody-in-particular"), typeUrl: TypeUrl.Cluster });
  const status = await ended(c);
  assert.equal(status.code, grpc.status.PERMISSION_DENIED);
  assert.match(status.details, /node "test\/nobody-in-particular"/);
  const ok = sotw(dbClient);
  ok.send({ node: node("nobody-in-particular"), typeUrl: TypeUrl.Cluster });
  assert.equal((await ok.next(5000)).resources.length, 1);
});

test("CSDS on the xDS port shows a caller only the clients whose config its identity may read", async () => {
  publishGroups({
    "test/edge-a": clusterOnly("edge", ["spiffe://acme.test/edge/*"]),
    "test/db": clusterOnly("db", ["spiffe://acme.test/db/primary"]),
  });
  const edge = sotw(edgeA);
  edge.send({ node: node("edge-a"), typeUrl: TypeUrl.Cluster });
  await edge.next(5000);
  const db = sotw(dbClient);
  db.send({ node: node("db"), typeUrl: TypeUrl.Cluster });
  await db.next(5000);
  const fetchAs = (client: Issued) =>
    new Promise<ClientStatusResponse>((resolve, reject) => {
      const csds = new grpc.Client(`localhost:${port}`, credentials(client));
      csds.makeUnaryRequest(
        "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus",
        (r: ReturnType<typeof create<typeof ClientStatusRequestSchema>>) => Buffer.from(toBinary(ClientStatusRequestSchema, r)),
        (b: Buffer) => fromBinary(ClientStatusResponseSchema, b),
        create(ClientStatusRequestSchema, {}),
        (err, value) => {
          csds.close();
          if (err) reject(err);
          else resolve(value!);
        },
      );
    });
  const nodesSeenBy = async (client: Issued) => new Set((await fetchAs(client)).config.map((c) => c.node?.id));
  const seenByEdge = await nodesSeenBy(edgeA);
  assert.ok(seenByEdge.has("edge-a") && !seenByEdge.has("db"), [...seenByEdge].join(", "));
  const seenByDb = await nodesSeenBy(dbClient);
  assert.ok(seenByDb.has("db") && !seenByDb.has("edge-a"), [...seenByDb].join(", "));
});

test("without a client CA nothing is enforced: identities are only known from verified certificates", async () => {
  const tlsOnly = new XdsServer({ cache, tls: TlsCredentials.load({ cert: serverCert.cert, key: serverCert.key }) });
  const tlsPort = await tlsOnly.listen("127.0.0.1:0");
  try {
    const c = new RawXdsClient(`localhost:${tlsPort}`, undefined, { credentials: grpc.credentials.createSsl(readFileSync(ca.cert)) });
    cleanups.push(() => c.close());
    c.send({ node: node("nobody-in-particular"), typeUrl: TypeUrl.Cluster });
    assert.equal((await c.next(5000)).resources.length, 1);
  } finally {
    await tlsOnly.close(200);
  }
});
