// The hardened admin API (issue 19, item 4) on the real daemon: HTTPS with mutual TLS (--admin-tls-cert,
// --admin-tls-key, --admin-client-ca; plaintext and clients without a certificate of the CA refused, rotated
// credentials for new connections), named tokens with a scope (a read token cannot write, an unknown one is 401),
// the token file watched (a rotated token works at once and the old one stops; a bad file keeps the previous
// tokens), audit lines for every write without the token in the log, failed authentications slowed down (429), and
// the CLI (get, endpoints, apply, status) against it with --admin-ca/--admin-cert/--admin-key or their variables.
// Reads off loopback need a token: the admin server in-process with the decision serve.ts makes for such an address
// (tests bind 127.0.0.1 only).
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AdminAuth, AdminTokens } from "../../src/admin/admin-auth.js";
import { AdminServer } from "../../src/admin/admin-server.js";
import { UiEvents } from "../../src/admin/ui-events.js";
import { UiRoutes } from "../../src/admin/ui-routes.js";
import { ChangeHistory } from "../../src/daemon/change-history.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { isLoopback } from "../../src/server/transport/listen-address.js";
import { serialOf, servedSerial, TestCa, type Issued } from "../support/certs.js";
import { runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const scratch = mkdtempSync(join(tmpdir(), "xdsd-admin-tls-"));
const ca = new TestCa("admin", scratch);
const otherCa = new TestCa("other", scratch);
const server = ca.issue("xdsd-admin", { san: ["DNS:localhost", "IP:127.0.0.1"] });
const rotated = ca.issue("xdsd-admin-rotated", { san: ["DNS:localhost", "IP:127.0.0.1"] });
const client = ca.issue("operator", { san: ["URI:spiffe://acme.test/ops/alice"] });
const stranger = otherCa.issue("stranger", { san: ["URI:spiffe://other.test/x"] });
const files = { cert: join(scratch, "admin.pem"), key: join(scratch, "admin.key"), tokens: join(scratch, "tokens") };
copyFileSync(server.cert, files.cert);
copyFileSync(server.key, files.key);

const writeToken = "deploy-token-0123456789abcdef";
const readToken = "scrape-token-0123456789abcdef";
const unknownToken = "guessed-token-0123456789abcdef";
/** Written as operators do: a new file renamed over the old one. */
function writeTokens(text: string): void {
  writeFileSync(`${files.tokens}.tmp`, text);
  renameSync(`${files.tokens}.tmp`, files.tokens);
}
writeTokens(`# xdsd admin tokens\ndeploy write ${writeToken}\nscrape read ${readToken}\n`);

const config = "clusters: [{name: web, endpoints: ['127.0.0.1:8080']}]\n";
let xdsd: XdsdHandle;
let origin: string;
before(async () => {
  xdsd = await startXdsd(config, {
    args: ["--admin-tls-cert", files.cert, "--admin-tls-key", files.key, "--admin-client-ca", ca.cert, "--admin-token-file", files.tokens],
  });
  origin = xdsd.adminUrl;
});
after(async () => {
  await xdsd?.stop();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own: over HTTPS with the test CA and `cert` (mutual TLS), or as `url` says. */
function send(url: string, o: { method?: string; token?: string; body?: unknown; cert?: Issued | null; ca?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const cert = o.cert === undefined ? client : o.cert;
  const tls = {
    ca: readFileSync(o.ca ?? ca.cert),
    ...(cert === null ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
  };
  const call = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = call(target, { method: o.method ?? "GET", headers, agent: false, timeout: 5000, ...tls }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
  });
}

const cluster = { endpoints: ["127.0.0.1:9000"] };

test("the dashboard over the HTTPS admin port: its page and its live feed are served over mutual TLS, with a read token", async () => {
  const page = await send(`${origin}/ui/`, { token: readToken });
  assert.equal(page.status, 200, page.body);
  assert.match(String(page.headers["content-type"]), /text\/html/);
  // The live feed is a stream that does not end: read its first event, then let go.
  const first = await new Promise<{ status: number; type: string; chunk: string }>((resolve, reject) => {
    const req = httpsRequest(
      `${origin}/ui/events`,
      {
        headers: { authorization: `Bearer ${readToken}` },
        ca: readFileSync(ca.cert),
        cert: readFileSync(client.cert),
        key: readFileSync(client.key),
        agent: false,
        timeout: 5000,
      },
      (res) => {
        res.setEncoding("utf8");
        res.once("data", (chunk: string) => {
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), chunk });
          req.destroy();
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("no event within 5 s")));
    req.on("error", reject);
    req.end();
  });
  assert.equal(first.status, 200);
  assert.match(first.type, /text\/event-stream/);
  assert.ok(first.chunk.length > 0);
});

test("the admin API over mutual TLS: a client certificate of the client CA is served; plaintext, no certificate, another CA's are refused", async () => {
  assert.match(origin, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await send(`${origin}/healthz`)).status, 200);
  assert.equal((await send(`${origin}/config`)).status, 200, "reads on loopback need no token");
  const plain = origin.replace("https:", "http:");
  await assert.rejects(send(`${plain}/config`), /socket hang up|ECONNRESET/, "plaintext HTTP to the TLS port gets no answer");
  await assert.rejects(send(`${origin}/config`, { cert: null }), /certificate required|alert|ECONNRESET|socket hang up/i, "no client certificate");
  await assert.rejects(send(`${origin}/config`, { cert: stranger }), /unknown ca|alert|ECONNRESET|socket hang up/i, "a certificate of another CA");
});

test("scoped tokens: a read token reads and cannot write (403), an unknown token is 401, a write token writes; audit lines name the token, never its value", async () => {
  const mark = xdsd.log().length;
  const readWrite = await send(`${origin}/v1/clusters/api`, { method: "PUT", token: readToken, body: cluster });
  assert.equal(readWrite.status, 403, readWrite.body);
  assert.match(JSON.parse(readWrite.body).detail, /the token "scrape" is a read token; writes need a token with the scope write/);
  const unknown = await send(`${origin}/v1/clusters/api`, { method: "PUT", token: unknownToken, body: cluster });
  assert.equal(unknown.status, 401, unknown.body);
  assert.equal(unknown.headers["www-authenticate"], 'Bearer realm="xdsd"');
  assert.equal((await send(`${origin}/config`, { token: unknownToken })).status, 401, "a token presented for a read is checked too");
  const written = await send(`${origin}/v1/clusters/api`, { method: "PUT", token: writeToken, body: cluster });
  assert.equal(written.status, 201, written.body);
  assert.equal((await send(`${origin}/v1/clusters/api`, { token: readToken })).status, 200);
  await xdsd.waitForLog(/audit: token=deploy method=PUT path="\/v1\/clusters\/api" status=201 remote=127\.0\.0\.1/, 5000, mark);
  const audit = xdsd.log().slice(mark);
  assert.match(audit, /audit: token=scrape method=PUT path="\/v1\/clusters\/api" status=403 remote=127\.0\.0\.1/);
  assert.match(audit, /audit: token=- method=PUT path="\/v1\/clusters\/api" status=401 remote=127\.0\.0\.1/);
  assert.doesNotMatch(audit, /audit: .*method=GET/, "reads are not audit lines");
  for (const secret of [writeToken, readToken, unknownToken]) assert.ok(!xdsd.rawLog().includes(secret), `${secret} is in the daemon's log`);
});

test("a write answered before its body is read (413) is audited, and the daemon goes on: the audit line is not read from a socket already let go", async () => {
  const mark = xdsd.log().length;
  const big = await send(`${origin}/v1/clusters/big`, { method: "PUT", token: writeToken, body: { a: "x".repeat(1_100_000) } }).catch((err: Error) => err);
  if (!(big instanceof Error)) assert.equal(big.status, 413, big.body);
  await xdsd.waitForLog(/audit: token=deploy method=PUT path="\/v1\/clusters\/big" status=413 remote=127\.0\.0\.1/, 5000, mark);
  assert.equal((await send(`${origin}/healthz`)).status, 200, "the daemon still serves");
});

test("the token file is watched: a rotated token works at once and the old one stops; a bad file keeps the previous tokens, logged file:line", async () => {
  const newToken = "deploy-token-rotated-0123456789";
  let mark = xdsd.log().length;
  writeTokens(`deploy write ${newToken}\nscrape read ${readToken}\n`);
  await xdsd.waitForLog(/admin tokens reloaded from \S+tokens: deploy \(write\), scrape \(read\)/, 5000, mark);
  assert.equal((await send(`${origin}/v1/clusters/rotated`, { method: "PUT", token: newToken, body: cluster })).status, 201);
  assert.equal((await send(`${origin}/v1/clusters/rotated`, { method: "DELETE", token: writeToken })).status, 401, "the old token stopped");

  mark = xdsd.log().length;
  writeTokens(`deploy admin ${newToken}\n`);
  await xdsd.waitForLog(
    /admin tokens not reloaded, the previous ones stay in use: \S+tokens:1: the scope of "deploy" is "admin"; expected read or write/,
    5000,
    mark,
  );
  assert.equal((await send(`${origin}/v1/clusters/rotated`, { method: "DELETE", token: newToken })).status, 200, "the previous tokens stay");
  assert.ok(!xdsd.rawLog().includes(newToken));
  writeTokens(`deploy write ${writeToken}\nscrape read ${readToken}\n`);
  await xdsd.waitForLog(/admin tokens reloaded from \S+tokens: deploy \(write\), scrape \(read\)/, 5000, mark);
});

test("the admin certificate is watched: new connections get the rotated one, logged", async () => {
  const port = Number(new URL(origin).port);
  assert.equal(await servedSerial(port, ca, client, ["http/1.1"]), serialOf(server.cert));
  const mark = xdsd.log().length;
  copyFileSync(rotated.cert, files.cert);
  copyFileSync(rotated.key, files.key);
  await xdsd.waitForLog(/admin TLS credentials reloaded: new connections get the certificate valid until/, 5000, mark);
  assert.equal(await servedSerial(port, ca, client, ["http/1.1"]), serialOf(rotated.cert));
  assert.equal((await send(`${origin}/healthz`)).status, 200);
});

test("the CLI against the TLS admin port: --admin-ca/--admin-cert/--admin-key or XDSD_ADMIN_*, and errors that say what to pass", async () => {
  const tokenFile = join(scratch, "cli-token");
  writeFileSync(tokenFile, `${writeToken}\n`);
  const tlsFlags = ["--admin", origin, "--admin-ca", ca.cert, "--admin-cert", client.cert, "--admin-key", client.key];
  const added = await runXdsd(["endpoints", "add", "api", "127.0.0.1:9100", "--no-wait", ...tlsFlags, "--token-file", tokenFile]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /api 127\.0\.0\.1:9100 (registered|updated)/);
  const env = { XDSD_ADMIN_CA: ca.cert, XDSD_ADMIN_CERT: client.cert, XDSD_ADMIN_KEY: client.key, XDSD_ADMIN_TOKEN_FILE: tokenFile };
  const listed = await runXdsd(["get", "endpoints", "api", "--admin", origin], { env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /api\s+127\.0\.0\.1:9100/);
  const status = await runXdsd(["status", "--admin", origin], { env });
  assert.equal(status.code, 0, status.stderr);

  const noCa = await runXdsd(["get", "clusters", "--admin", origin]);
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /does not chain to a CA this command trusts \(\w+\): pass --admin-ca FILE/);
  const plain = await runXdsd(["get", "clusters", "--admin", origin.replace("https:", "http:")]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /if the admin port speaks TLS \(xdsd serve --admin-tls-cert\), use an https:\/\/ URL and pass --admin-ca FILE/);
  const noCert = await runXdsd(["get", "clusters", "--admin", origin, "--admin-ca", ca.cert]);
  assert.equal(noCert.code, 1);
  assert.match(noCert.stderr, /requires a client certificate \(mutual TLS\): pass --admin-cert FILE --admin-key FILE/);
  const halfPair = await runXdsd(["get", "clusters", "--admin", origin, "--admin-ca", ca.cert, "--admin-cert", client.cert]);
  assert.equal(halfPair.code, 2);
  assert.match(halfPair.stderr, /--admin-cert and --admin-key go together/);

  const readTokenFile = join(scratch, "cli-read-token");
  writeFileSync(readTokenFile, readToken);
  const readOnly = await runXdsd(["endpoints", "remove", "api", "127.0.0.1:9100", "--no-wait", ...tlsFlags, "--token-file", readTokenFile]);
  assert.equal(readOnly.code, 1);
  assert.match(readOnly.stderr, /403 forbidden: the token "scrape" is a read token.*: give --token-file a file holding a write token/);
});

test("serve refuses a bad token file at start, every bad line with file:line, and half a TLS pair", async () => {
  const bad = join(scratch, "bad-tokens");
  writeFileSync(bad, `deploy write ${writeToken}\nscrape read short\n`);
  const r = await runXdsd([
    "serve",
    "--config",
    join(scratch, "none.yaml"),
    "--admin-listen",
    "127.0.0.1:0",
    "--xds-listen",
    "127.0.0.1:0",
    "--admin-token-file",
    bad,
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bad-tokens:2: the token of "scrape" must be at least 16 characters\n1 error\n/);
  assert.ok(!r.stderr.includes(writeToken));
  const half = await runXdsd(["serve", "--config", join(scratch, "none.yaml"), "--admin-client-ca", ca.cert]);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--admin-client-ca needs --admin-tls-cert and --admin-tls-key: mutual TLS is TLS first/);
});

test("too many failed authentications from one address: 429 with Retry-After, even for the right token, and audited", async () => {
  const tokens = join(scratch, "limit-tokens");
  writeFileSync(tokens, writeToken);
  const plain = await startXdsd(config, { args: ["--admin-token-file", tokens, "--max-admin-auth-failures", "3"] });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await send(`${plain.adminUrl}/v1/clusters/x`, { method: "PUT", token: `${unknownToken}${i}`, body: cluster });
      assert.equal(r.status, 401, r.body);
    }
    const limited = await send(`${plain.adminUrl}/v1/clusters/x`, { method: "PUT", token: writeToken, body: cluster });
    assert.equal(limited.status, 429, limited.body);
    const wait = Number(limited.headers["retry-after"]);
    assert.ok(wait > 50 && wait <= 60, String(wait));
    assert.match(JSON.parse(limited.body).detail, /3 requests from 127\.0\.0\.1 presented no token or a wrong one within 60 s; try again in \d+ s/);
    assert.equal((await send(`${plain.adminUrl}/healthz`)).status, 200, "/healthz is never refused");
    await plain.waitForLog(/audit: token=- method=PUT path="\/v1\/clusters\/x" status=429 remote=127\.0\.0\.1/);
  } finally {
    await plain.stop();
  }
});

test("an admin address that is not loopback: every read needs a token (read or write) — /config, /nodes, /metrics, CSDS — /healthz does not", async () => {
  // What serve.ts decides for --admin-listen 0.0.0.0:18001 or a host's own address.
  assert.equal(isLoopback("0.0.0.0"), false);
  const cache = new SnapshotCache();
  const nodes = new NodeStatuses({ clients: () => [] });
  const admin = new AdminServer({
    cache,
    nodes,
    ui: new UiRoutes({ cache, events: new UiEvents({ nodes }), history: new ChangeHistory({ cache }), version: () => undefined }),
    healthy: () => true,
    metrics: { contentType: "text/plain", metrics: async () => "xdsd_up 1\n" },
    clientStatus: () => {
      throw new Error("a refused request is not answered");
    },
    auth: new AdminAuth({
      tokens: AdminTokens.of([
        { name: "deploy", scope: "write", token: writeToken },
        { name: "scrape", scope: "read", token: readToken },
      ]),
      readsNeedToken: true,
    }),
  });
  const port = await admin.listen("127.0.0.1", 0);
  try {
    const base = `http://127.0.0.1:${port}`;
    // The dashboard too (issue 22): its page, its data and its live feed are reads like /nodes.
    for (const path of ["/config", "/nodes", "/metrics", "/ui/", "/ui/api/info", "/ui/api/changes"]) {
      const refused = await send(`${base}${path}`);
      assert.equal(refused.status, 401, path);
      assert.match(
        JSON.parse(refused.body).detail,
        /reads on a non-loopback admin address need Authorization: Bearer <a read or write token of --admin-token-file>/,
      );
      assert.equal((await send(`${base}${path}`, { token: readToken })).status, 200, path);
      assert.equal((await send(`${base}${path}`, { token: writeToken })).status, 200, path);
    }
    assert.equal((await send(`${base}/v3/discovery:client_status`, { method: "POST", body: {} })).status, 401);
    assert.equal((await send(`${base}/ui/events`)).status, 401, "the live feed is refused before it opens");
    assert.equal((await send(`${base}/healthz`)).status, 200);
  } finally {
    await admin.close();
  }
});
