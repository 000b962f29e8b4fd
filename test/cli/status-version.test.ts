// `xdsd status --version V` with a write API revision, and `xdsd status NODE_ID`'s diff while a change is on its way:
// a proxy (a raw ADS client that ACKs when told) holds the config served; after an endpoint write at revision R it is
// sent the new endpoints and, until it ACKs them, holds the old ones — R is not held (exit 1, the endpoints changed);
// once it ACKs, R is held (exit 0). A revision not served yet is refused, saying which is.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawXdsClient } from "../support/xds-client.js";
import { runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";
import { TypeUrl } from "../../src/resource/type-urls.js";

const dir = mkdtempSync(join(tmpdir(), "xdsd-status-version-"));
const token = "status-version-token-0123456789";
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, token);
let xdsd: XdsdHandle;
let client: RawXdsClient;

before(async () => {
  xdsd = await startXdsd(`clusters:\n  - {name: web, endpoints: ["127.0.0.1:8081"]}\n`, { args: ["--admin-token-file", tokenFile] });
  client = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
  client.send({ node: { id: "p1", cluster: "c" }, typeUrl: TypeUrl.Cluster });
  client.ack(await client.next());
  client.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["web"] });
  client.ack(await client.next(), ["web"]);
});
after(async () => {
  client?.close();
  await xdsd?.stop();
});

const status = (...args: string[]) => runXdsd(["status", ...args, "--admin", xdsd.adminUrl]);

test("a write API revision is held once the proxy ACKs what it changed; until then the diff says what changed", async () => {
  await new Promise((r) => setTimeout(r, 100)); // the ACKs reach the server
  const put = await fetch(`${xdsd.adminUrl}/v1/clusters/web/endpoints/127.0.0.1:8082`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(put.status, 201);
  const { revision } = (await put.json()) as { revision: number };
  const pushed = await client.next(); // the new endpoints, not ACKed yet
  const waiting = await status("--version", String(revision));
  assert.equal(waiting.code, 1, waiting.stdout + waiting.stderr);
  assert.match(waiting.stdout, new RegExp(`^${revision} \\(write API revision ${revision} \\(revision ${revision} served\\)\\): 0 of 1 proxies hold it$`, "m"));
  assert.match(waiting.stdout, /^ {2}c\/p1: eds version \S+ sent, not ACKed yet; changed web \(\S+ → \S+\)$/m);
  const one = await status("p1");
  assert.match(one.stdout, /^ {2}eds: version \S+ sent, not ACKed yet; changed web/m);
  assert.match(one.stdout, /^ {2}cds: in sync \(1 resource, version \S+\)$/m);

  client.ack(pushed, ["web"]);
  await new Promise((r) => setTimeout(r, 100));
  const held = await status("--version", String(revision), "-o", "json");
  assert.equal(held.code, 0, held.stdout + held.stderr);
  assert.deepEqual(JSON.parse(held.stdout).proxies, [{ node: "c/p1", holds: true }]);
  const later = await status("--version", String(revision + 100));
  assert.equal(later.code, 2);
  assert.match(later.stderr, new RegExp(`the write API serves revision ${revision}; revision ${revision + 100} is not served \\(yet\\)`));
});

// A config version is base64url: one in 64 starts with "-". Copied from `xdsd status` into `--version`, it is the
// value, not an option (parseArgs alone refused it as ambiguous, exit 2, and a CI run failed that way).
test("a version that starts with a dash is taken as --version's value", async () => {
  const dashed = await status("--version", "-AbCdEfGhIj");
  assert.equal(dashed.code, 2, dashed.stdout + dashed.stderr);
  assert.match(dashed.stderr, /--version -AbCdEfGhIj: neither the config version served/);
  const missing = await status("--version", "-o", "json");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /argument is ambiguous|argument missing/);
});

// `--version` reads every node's diff a page at a time (GET /nodes?diff=true), not one request per node: the page's
// diffs are what GET /nodes/{node} says of each.
test("GET /nodes?diff=true gives each node of the page its diff, as GET /nodes/{node} does", async () => {
  const page = (await (await fetch(`${xdsd.adminUrl}/nodes?diff=true&limit=10`)).json()) as { nodes: { node: string }[]; diffs: unknown[]; total: number };
  assert.deepEqual(
    page.nodes.map((n) => n.node),
    ["c/p1"],
  );
  const one = await (await fetch(`${xdsd.adminUrl}/nodes/${encodeURIComponent("c/p1")}`)).json();
  assert.deepEqual(page.diffs, [one]);
  const plain = (await (await fetch(`${xdsd.adminUrl}/nodes`)).json()) as Record<string, unknown>;
  assert.equal(plain.diffs, undefined, "without ?diff=true, no diffs");
  const bad = await fetch(`${xdsd.adminUrl}/nodes?diff=yes`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { detail: string }).detail, /diff must be true or false, not "yes"/);
});
