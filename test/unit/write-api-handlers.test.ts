// The write API's handlers (admin/write-api.ts) over a real ConfigReloader and SQLite store, on an HTTP server of
// their own (no daemon, a fake wall clock): how requests become store writes — conditions from If-Match and
// If-None-Match, a registration's ttl made into its expiry time, a cluster deleted with its endpoints, batches — and
// how every refusal is answered: the status, a problem detail with its code, and the field or header at fault.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { WriteApi, type WriteApiOptions } from "../../src/admin/write-api.js";
import { servedPorts, storeReloader } from "./reloader-helpers.js";

const token = "unit-token-0123456789abcdef";
const t0 = Date.parse("2030-01-01T00:00:00Z");

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

/** A write API over its own reloader and store, served on 127.0.0.1 (port 0). */
async function serveApi(options: Partial<WriteApiOptions> = {}) {
  const d = await storeReloader();
  const clock = { now: t0 };
  const api = new WriteApi({ reloader: d.reloader, token, now: () => clock.now, ...options });
  const server = createServer((req, res) => api.handle(req, res, new URL(`http://admin${req.url}`).pathname));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
  };
  return {
    d,
    clock,
    call,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await d.close();
    },
  };
}

let h: Awaited<ReturnType<typeof serveApi>>;
before(async () => {
  h = await serveApi();
});
after(async () => {
  await h.close();
});

/** A refusal: its status, problem-details shape, and what its detail says. */
function refused(r: Reply, status: number, detail: RegExp, code?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.equal(r.json.status, status);
  assert.match(String(r.json.detail), detail);
  if (code) assert.equal(r.json.code, code);
}

test("If-Match: the revision the write requires, weak or strong; a stale one is 412 with the current revision; nothing else is taken for none", async () => {
  const created = await h.call("PUT", "/v1/clusters/cond", { endpoints: ["127.0.0.1:9001"] });
  assert.equal(created.status, 201);
  const etag = created.headers.get("etag")!;
  const replaced = await h.call("PUT", "/v1/clusters/cond", { endpoints: ["127.0.0.1:9002"] }, { "if-match": `W/${etag}` });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
  const current = Number(JSON.parse(replaced.headers.get("etag")!));
  const stale = await h.call("PUT", "/v1/clusters/cond", { endpoints: ["127.0.0.1:9003"] }, { "if-match": etag });
  refused(stale, 412, /cluster "cond" is at revision \d+, but the write required revision \d+/, "XDSD_STORE_CONFLICT");
  assert.equal(stale.json.currentRevision, current);
  for (const [headers, detail] of [
    [{ "if-match": "7" }, /If-Match must be one ETag this API gave, like "7"/],
    [{ "if-match": `${etag}, "1"` }, /If-Match must be one ETag/],
    [{ "if-match": etag, "if-none-match": "*" }, /without If-None-Match/],
    [{ "if-none-match": etag }, /If-None-Match takes only "\*"/],
  ] as const) {
    refused(await h.call("PUT", "/v1/clusters/cond", { endpoints: [] }, headers), 400, detail);
  }
  refused(await h.call("DELETE", "/v1/clusters/cond", undefined, { "if-match": etag }), 412, /is at revision/);
  assert.deepEqual(servedPorts(h.d.cache, "cond"), [9002], "no refused request changed it");
  refused(await h.call("PUT", "/v1/clusters/cond", { endpoints: [] }, { "if-none-match": "*" }), 412, /required that it not exist/);
  assert.equal((await h.call("PUT", "/v1/clusters/cond2", { endpoints: [] }, { "if-none-match": "*" })).status, 201);
});

test("a name the file defines: GET says where; a write is 409 with its location; an invalid write is 422 with the field path", async () => {
  const got = await h.call("GET", "/v1/clusters/web");
  assert.equal(got.json.managedBy, "file");
  const put = await h.call("PUT", "/v1/clusters/web", { endpoints: [] });
  refused(put, 409, /xdsd\.yaml:2:5/, "XDSD_MANAGED_BY_FILE");
  assert.match(JSON.stringify(put.json.location), /"line":2/);
  const invalid = await h.call("PUT", "/v1/clusters/bad", { endpoints: ["127.0.0.1:8082"], lb_policy: "FASTEST" });
  refused(invalid, 422, /nothing was stored/);
  const errors = invalid.json.errors as { path?: string; location: string; message: string }[];
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].path, "clusters.bad.lb_policy");
  assert.match(errors[0].message, /must be one of: ROUND_ROBIN/);
  refused(await h.call("GET", "/v1/clusters/bad"), 404, /no cluster "bad"/);
});

test("an endpoint's address comes from its path; its ttl becomes an expiry time on the API's clock, moved by each renewal", async () => {
  const path = "/v1/clusters/web/endpoints/127.0.0.1:8201";
  h.clock.now = t0;
  assert.equal((await h.call("PUT", path, { ttl: "30s", weight: 2 })).status, 201);
  const got = await h.call("GET", path);
  assert.deepEqual(
    { ...got.json, revision: undefined },
    {
      cluster: "web",
      endpoint: "127.0.0.1:8201",
      revision: undefined,
      ttl: "30s",
      weight: 2,
      address: "127.0.0.1",
      port: 8201,
      expires_at: "2030-01-01T00:00:30.000Z",
    },
  );
  h.clock.now = t0 + 20_000;
  assert.equal((await h.call("PUT", path, { ttl: "30s", weight: 2 })).status, 200, "a renewal");
  assert.equal((await h.call("GET", path)).json.expires_at, "2030-01-01T00:00:50.000Z");
  assert.deepEqual(servedPorts(h.d.cache, "web"), [8081, 8201]);
  refused(await h.call("PUT", path, { port: 1 }), 400, /"port" comes from the endpoint's name \(127\.0\.0\.1:8201\), not the body/);
  refused(await h.call("PUT", "/v1/clusters/web/endpoints/127.0.0.1", {}), 400, /the path's endpoint/);
  refused(await h.call("PUT", "/v1/clusters/nowhere/endpoints/127.0.0.1:1", {}), 404, /no cluster "nowhere" to register 127\.0\.0\.1:1 in/);
  assert.equal((await h.call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8202", "")).status, 201, "an empty body: the endpoint alone");
  for (const p of [8201, 8202]) assert.equal((await h.call("DELETE", `/v1/clusters/web/endpoints/127.0.0.1:${p}`)).status, 200);
  refused(await h.call("DELETE", path), 404, /no endpoint 127\.0\.0\.1:8201 registered for cluster "web"/);
});

test("DELETE of a store cluster deletes its registered endpoints in the same transaction", async () => {
  assert.equal((await h.call("PUT", "/v1/clusters/gone", { endpoints: [] })).status, 201);
  for (const p of [9101, 9102]) assert.equal((await h.call("PUT", `/v1/clusters/gone/endpoints/127.0.0.1:${p}`, {})).status, 201);
  assert.deepEqual(servedPorts(h.d.cache, "gone"), [9101, 9102]);
  const before = await h.d.store.revision();
  const deleted = await h.call("DELETE", "/v1/clusters/gone");
  assert.equal(deleted.status, 200);
  assert.equal(deleted.json.revision, before + 1, "one transaction");
  assert.deepEqual(
    h.d.reloader.storeObjects().objects.filter((o) => o.name === "gone" || o.name.startsWith("gone/")),
    [],
  );
  assert.equal(servedPorts(h.d.cache, "gone"), undefined);
});

test("a batch: every operation checked before any is stored; dry_run stores nothing; a malformed one names its index and field", async () => {
  const ops = [
    { op: "put", kind: "cluster", name: "b1", value: { endpoints: ["127.0.0.1:9201"] } },
    { op: "put", kind: "endpoint", name: "b1/127.0.0.1:9202", value: { ttl: "60s" } },
  ];
  const revision = await h.d.store.revision();
  const dry = await h.call("POST", "/v1/batch?dry_run=true", { operations: ops });
  assert.equal(dry.status, 200, JSON.stringify(dry.json));
  assert.equal(dry.json.dry_run, true);
  assert.equal(await h.d.store.revision(), revision, "a dry run stores nothing");
  assert.equal(servedPorts(h.d.cache, "b1"), undefined);
  h.clock.now = t0;
  const applied = await h.call("POST", "/v1/batch", { operations: ops });
  assert.equal(applied.status, 200, JSON.stringify(applied.json));
  assert.deepEqual(servedPorts(h.d.cache, "b1"), [9201, 9202]);
  assert.equal(h.d.reloader.storeObject("endpoint", "b1/127.0.0.1:9202")?.value.expires_at, "2030-01-01T00:01:00.000Z", "a batch's registration expires too");
  for (const [operations, detail] of [
    [[{ op: "upsert", kind: "cluster", name: "x", value: {} }], /operations\[0\]\.op must be "put" or "delete"/],
    [[ops[0], { op: "put", kind: "widget", name: "x", value: {} }], /operations\[1\]\.kind must be one of/],
    [[{ op: "put", kind: "cluster", name: "", value: {} }], /operations\[0\]\.name must be a non-empty string/],
    [[{ op: "delete", kind: "cluster", name: "b1", if_revision: -1 }], /operations\[0\]\.if_revision must be a whole number/],
    [[{ op: "put", kind: "endpoint", name: "b1/127.0.0.1:9203", value: { ttl: "2m" } }], /operations\[0\]: "ttl" must be a duration in seconds/],
    [[], /at least one operation/],
  ] as const) {
    refused(await h.call("POST", "/v1/batch", { operations }), 400, detail);
  }
  refused(await h.call("POST", "/v1/batch?dry_run=yes", { operations: ops }), 400, /dry_run= takes "true" or "false"/);
  refused(await h.call("PUT", "/v1/batch", { operations: ops }), 405, /allowed: POST/);
});

test("requests refused before any write: token, body, media type, method, and ?wait= without a rollout tracker", async () => {
  const wrong = await h.call("PUT", "/v1/clusters/x", {}, { authorization: "Bearer not-the-token-000000000000" });
  refused(wrong, 401, /Bearer/);
  assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="xdsd"');
  refused(await h.call("PUT", "/v1/clusters/x", "{not json"), 400, /the body is not JSON/);
  refused(await h.call("PUT", "/v1/clusters/x", "[1]"), 400, /must be a JSON object/);
  refused(await h.call("PUT", "/v1/clusters/x", { name: "y" }), 400, /the body names cluster "y" but the path names "x"/);
  refused(await h.call("PUT", "/v1/clusters/x", {}, { "content-type": "text/plain" }), 415, /must be application\/json, not text\/plain/);
  refused(await h.call("POST", "/v1/clusters/x", {}), 405, /allowed: GET, PUT, DELETE/);
  refused(await h.call("PUT", "/v1/clusters/x?wait=acked", {}), 400, /wait=acked is not available/);
  refused(await h.call("PUT", "/v1/clusters/x?timeout=1s", {}), 400, /timeout= goes with wait=acked/);
  refused(await h.call("PUT", "/v1/resources/not.a.Type/x", {}), 400, /is not the type URL of an xDS resource type/);
  assert.equal(h.d.reloader.storeObject("cluster", "x"), undefined);

  const small = await serveApi({ maxBodyBytes: 64 });
  const readOnly = await serveApi({ token: undefined });
  try {
    refused(await small.call("PUT", "/v1/clusters/x", { endpoints: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4"] }), 413, /over 64 bytes/);
    refused(await readOnly.call("PUT", "/v1/clusters/x", {}), 403, /--admin-token-file/);
    assert.equal((await readOnly.call("GET", "/v1/clusters")).status, 200, "reads need no token");
  } finally {
    await Promise.all([small.close(), readOnly.close()]);
  }
});
