// The xDS port over TLS and mutual TLS, with certificates made by openssl at run time: real grpc-js clients (SotW
// and delta ADS) and REST polls over HTTPS get through with a certificate from the client CA; no certificate, one
// from another CA, an expired one, or plaintext do not get past the handshake; the identity a client certificate
// names reaches the stream; rotated server credentials apply to new connections without ending open streams, and a
// bad rotated file keeps the previous ones.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import https from "node:https";
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { TlsCredentials } from "../../src/server/transport/tls-credentials.js";
import { identityOf } from "../../src/server/transport/peer-identity.js";
import { TlsCredentialsError } from "../../src/errors.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import type { StreamInfo } from "../../src/server/observers/events.js";
import { RawDeltaClient, RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, node } from "../support/resources.js";
import { serialOf, servedSerial, TestCa, type Issued } from "../support/certs.js";

const scratch = mkdtempSync(join(tmpdir(), "xdsd-tls-"));
const ca = new TestCa("xds", scratch);
const otherCa = new TestCa("other", scratch);
const serverCert = ca.issue("xdsd", { san: ["DNS:localhost", "IP:127.0.0.1"] });
const edgeClient = ca.issue("edge-a", { san: ["URI:spiffe://acme.test/edge/a", "DNS:edge-a.acme.test"] });
const dnsOnlyClient = ca.issue("dns-only", { san: ["DNS:dns-only.acme.test"] });
const strangerClient = otherCa.issue("stranger", { san: ["URI:spiffe://acme.test/edge/a"] });
const expiredClient = ca.issue("expired", { san: ["URI:spiffe://acme.test/edge/old"], notBefore: "20200101000000Z", notAfter: "20200102000000Z" });

/** The files the server reads; a rotation copies new ones over them. */
const live = { cert: join(scratch, "server.pem"), key: join(scratch, "server.key"), clientCa: ca.cert };
copyFileSync(serverCert.cert, live.cert);
copyFileSync(serverCert.key, live.key);

const cache = new SnapshotCache();
cache.setDefaultSnapshot(Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const identified: StreamInfo[] = [];

async function tlsServer(credentials: TlsCredentials): Promise<number> {
  const server = new XdsServer({ cache, tls: credentials, events: { nodeIdentified: (info) => identified.push(info) } });
  const port = await server.listen("127.0.0.1:0");
  cleanups.push(() => server.close(200));
  return port;
}

const mtls = TlsCredentials.load(live);
const mtlsPort = await tlsServer(mtls);

function credentialsOf(client?: Issued, caFile = ca.cert): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(caFile), client ? readFileSync(client.key) : null, client ? readFileSync(client.cert) : null);
}

function sotwClient(port: number, client?: Issued): RawXdsClient {
  const c = new RawXdsClient(`localhost:${port}`, undefined, { credentials: credentialsOf(client) });
  cleanups.push(() => c.close());
  return c;
}

test("mutual TLS: a client with a certificate from the client CA is served over SotW and delta ADS, and its SPIFFE ID names the stream", async () => {
  const c = sotwClient(mtlsPort, edgeClient);
  c.send({ node: node("tls-1"), typeUrl: TypeUrl.Cluster });
  const r = await c.next(5000);
  assert.equal(r.typeUrl, TypeUrl.Cluster);
  assert.deepEqual(r.resources.length, 1);
  const d = new RawDeltaClient(`localhost:${mtlsPort}`, undefined, { credentials: credentialsOf(edgeClient) });
  cleanups.push(() => d.close());
  d.send({ node: node("tls-2"), typeUrl: TypeUrl.Cluster });
  assert.equal((await d.next(5000)).resources.length, 1);
  const info = identified.find((i) => i.node?.id === "tls-1");
  assert.equal(info?.identity, "spiffe://acme.test/edge/a");
  assert.equal(identified.find((i) => i.node?.id === "tls-2")?.identity, "spiffe://acme.test/edge/a");
});

test("mutual TLS: a certificate without a SPIFFE ID is named by its first DNS SAN", async () => {
  const c = sotwClient(mtlsPort, dnsOnlyClient);
  c.send({ node: node("tls-dns"), typeUrl: TypeUrl.Cluster });
  await c.next(5000);
  assert.equal(identified.find((i) => i.node?.id === "tls-dns")?.identity, "dns-only.acme.test");
});

for (const [what, client] of [
  ["no client certificate", undefined],
  ["a certificate from another CA", strangerClient],
  ["an expired certificate", expiredClient],
] as const) {
  test(`mutual TLS: ${what} does not get past the handshake; nothing is served`, async () => {
    const before = identified.length;
    const c = sotwClient(mtlsPort, client);
    c.send({ node: node(`refused-${what}`), typeUrl: TypeUrl.Cluster });
    const status = await c.status;
    assert.equal(status.code, grpc.status.UNAVAILABLE, status.details);
    assert.equal(identified.length, before, "no stream reached the server");
  });
}

test("plaintext to the TLS port gets nothing", async () => {
  const c = new RawXdsClient(`127.0.0.1:${mtlsPort}`);
  cleanups.push(() => c.close());
  c.send({ node: node("plain"), typeUrl: TypeUrl.Cluster });
  assert.equal((await c.status).code, grpc.status.UNAVAILABLE);
});

test("REST polling over HTTPS (HTTP/1.1 by ALPN) with a client certificate; refused without one", async () => {
  const poll = (client?: Issued) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: mtlsPort,
          servername: "localhost",
          path: "/v3/discovery:clusters",
          method: "POST",
          headers: { "content-type": "application/json" },
          ca: readFileSync(ca.cert),
          ...(client ? { key: readFileSync(client.key), cert: readFileSync(client.cert) } : {}),
          agent: false,
        },
        (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ node: { id: "rest-tls", cluster: "c" } }));
    });
  const ok = await poll(edgeClient);
  assert.equal(ok.status, 200, ok.body);
  assert.match(ok.body, /"@type":"type.googleapis.com\/envoy.config.cluster.v3.Cluster"/);
  await assert.rejects(poll(undefined));
});

test("rotation: new server credentials apply to new connections, open streams go on; a bad file keeps the previous ones", async () => {
  const c = sotwClient(mtlsPort, edgeClient);
  c.send({ node: node("rotating"), typeUrl: TypeUrl.Cluster });
  const first = await c.next(5000);
  assert.equal(await servedSerial(mtlsPort, ca, edgeClient), serialOf(serverCert.cert));

  const next = ca.issue("xdsd-next", { san: ["DNS:localhost", "IP:127.0.0.1"] });
  copyFileSync(next.cert, live.cert);
  copyFileSync(next.key, live.key);
  assert.equal(mtls.reload(), undefined);
  assert.equal(await servedSerial(mtlsPort, ca, edgeClient), serialOf(next.cert), "a new connection gets the new certificate");

  // The stream opened before the rotation is still served.
  c.ack(first);
  cache.setDefaultSnapshot(Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", "10.0.0.1:80"), endpoints("b", "10.0.0.2:80")]));
  const pushed = await c.next(5000);
  assert.equal(pushed.resources.length, 2);

  // A key that does not match the certificate: refused, the previous credentials stay.
  copyFileSync(edgeClient.key, live.key);
  const error = mtls.reload();
  assert.ok(error instanceof TlsCredentialsError);
  assert.equal(error.code, "XDSD_TLS_CREDENTIALS");
  assert.match(error.message, /server\.key: the private key does not match the certificate/);
  assert.equal(await servedSerial(mtlsPort, ca, edgeClient), serialOf(next.cert));
});

test("TlsCredentials.load names the file at fault: unreadable, not PEM, mismatched key, expired certificate", () => {
  const dir = mkdtempSync(join(scratch, "bad-"));
  const notPem = join(dir, "not.pem");
  writeFileSync(notPem, "hello\n");
  const expired = ca.issue("old-server", { san: ["DNS:localhost"], notBefore: "20200101000000Z", notAfter: "20200102000000Z" });
  const cases: [Parameters<typeof TlsCredentials.load>[0], RegExp][] = [
    [{ cert: join(dir, "missing.pem"), key: serverCert.key }, /missing\.pem: cannot read the certificate: ENOENT/],
    [{ cert: notPem, key: serverCert.key }, /not\.pem: the certificate is not PEM/],
    [{ cert: serverCert.cert, key: notPem }, /not\.pem: the private key is not PEM/],
    [{ cert: serverCert.cert, key: edgeClient.key }, /the private key does not match the certificate/],
    [{ cert: expired.cert, key: expired.key }, /expired at 2020-01-02T00:00:00\.000Z/],
    [{ cert: serverCert.cert, key: serverCert.key, clientCa: notPem }, /not\.pem: the client CA bundle is not PEM/],
  ];
  for (const [files, message] of cases) {
    assert.throws(
      () => TlsCredentials.load(files),
      (err: Error) => err instanceof TlsCredentialsError && message.test(err.message),
      String(message),
    );
  }
  // Key material never appears in a message.
  const keyBody = readFileSync(edgeClient.key, "utf8").split("\n")[1];
  try {
    TlsCredentials.load({ cert: serverCert.cert, key: edgeClient.key });
  } catch (err) {
    assert.ok(!(err as Error).message.includes(keyBody));
  }
});

test("TLS without a client CA: clients are served without a certificate, and no identity is taken", async () => {
  const port = await tlsServer(TlsCredentials.load({ cert: serverCert.cert, key: serverCert.key }));
  const c = sotwClient(port);
  c.send({ node: node("server-tls-only"), typeUrl: TypeUrl.Cluster });
  assert.equal((await c.next(5000)).typeUrl, TypeUrl.Cluster);
  assert.equal(identified.find((i) => i.node?.id === "server-tls-only")?.identity, undefined);
});

test("identityOf: the SPIFFE URI SAN first, else the first DNS SAN; quoted values", () => {
  assert.equal(identityOf("DNS:a.test, URI:spiffe://acme.test/edge/a"), "spiffe://acme.test/edge/a");
  assert.equal(identityOf("DNS:a.test, DNS:b.test"), "a.test");
  assert.equal(identityOf('URI:"spiffe://acme.test/x,y", DNS:a.test'), "spiffe://acme.test/x,y");
  assert.equal(identityOf("URI:https://not-spiffe.test/a, IP Address:127.0.0.1"), undefined);
  assert.equal(identityOf(""), undefined);
});

test("plaintext on a non-loopback address logs what anyone reaching the port can read; on loopback it does not", async () => {
  const warnings: string[] = [];
  const log = { info() {}, warn: (m: string) => warnings.push(m), error() {} };
  const open = new XdsServer({ cache, log });
  await open.listen("0.0.0.0:0");
  cleanups.push(() => open.close(200));
  const local = new XdsServer({ cache, log });
  await local.listen("127.0.0.1:0");
  cleanups.push(() => local.close(200));
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /xDS is served in plaintext on 0\.0\.0\.0:\d+: anyone who can reach this port can read the config of every node group/);
  assert.match(warnings[0], /--xds-tls-cert, --xds-tls-key, --xds-client-ca/);
});
