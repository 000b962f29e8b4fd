// The write API of a real daemon against what a hostile-input pass found (issue 18, items 3 and 5–10): a file edit
// that takes a store object's name, a cluster deleted while endpoints register into it, endpoints spelled several
// ways, a token of the right length in the wrong bytes, broken percent-encoding, an entity tag that matches
// nothing, deep nesting, a cluster name with "/", and a batch of thousands of repeats.
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const token = "test-token-0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "xdsd-api-defects-"));
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, `${token}\n`);
const fileConfig = (extraClusters = "") => `clusters:
  - name: web
    endpoints: ["127.0.0.1:8081"]
${extraClusters}listeners:
  - name: l
    port: 10000
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;
let xdsd: XdsdHandle;

before(async () => {
  xdsd = await startXdsd(fileConfig(), { args: ["--admin-token-file", tokenFile] });
});
after(async () => {
  await xdsd?.stop();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, raw?: string, on: XdsdHandle = xdsd): Promise<Reply> {
  const text = raw ?? (body === undefined ? "" : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${on.adminUrl}${path}`,
      { method, agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers } },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: data ? JSON.parse(data) : {} }));
      },
    );
    req.on("error", reject);
    // A Buffer: node:http then writes the headers as latin1, one byte per character (a string body would have them
    // written as UTF-8), so that a header can carry the bytes a test means.
    req.end(Buffer.from(text));
  });
}

/** The ports of the endpoints served for `cluster` (the default snapshot's ClusterLoadAssignment). */
const servedEndpoints = async (cluster: string, on: XdsdHandle = xdsd): Promise<string[]> => {
  const view = await on.admin<{ default: { eds: { resources: { name: string; resource: unknown }[] } } }>("/config");
  const cla = view.json.default.eds.resources.find((r) => r.name === cluster);
  return JSON.stringify(cla?.resource ?? {}).match(/"(?:address|portValue)":(?:"[^"]*"|\d+)/g) ?? [];
};

test("a file edit that takes a store object's name: the restart serves the file's, reports the store's until it is deleted", async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), "xdsd-shadow-")), "data");
  const args = ["--admin-token-file", tokenFile, "--data-dir", dataDir];
  let daemon = await startXdsd(fileConfig(), { args });
  try {
    assert.equal((await call("PUT", "/v1/clusters/newc", { endpoints: ["127.0.0.1:9101"] }, {}, undefined, daemon)).status, 201);
    const mark = daemon.log().length;
    daemon.writeConfig(fileConfig('  - name: newc\n    endpoints: ["127.0.0.2:9102"]\n'));
    // The running daemon takes the edit the same way: the file's newc is served, the store's reported.
    await daemon.waitForLog(/config \S+ version \S+ published/, 10_000, mark);
    assert.deepEqual(await servedEndpoints("newc", daemon), ['"address":"127.0.0.2"', '"portValue":9102']);
    assert.equal((await daemon.admin<{ config: { shadowed?: unknown[] } }>("/config")).json.config.shadowed?.length, 1);
    assert.equal(await daemon.stop(), 0);
    daemon = await startXdsd(fileConfig('  - name: newc\n    endpoints: ["127.0.0.2:9102"]\n'), { args });
    assert.deepEqual(await servedEndpoints("newc", daemon), ['"address":"127.0.0.2"', '"portValue":9102'], "the file's newc is served");
    const shadowed = (await daemon.admin<{ config: { shadowed?: { kind: string; name: string; definedAt: string }[] } }>("/config")).json.config.shadowed;
    assert.equal(shadowed?.length, 1, JSON.stringify(shadowed));
    assert.deepEqual([shadowed[0].kind, shadowed[0].name], ["cluster", "newc"]);
    assert.match(shadowed[0].definedAt, /xdsd\.yaml:4:\d+/, "where the file defines it, with its line");
    assert.match(daemon.log(), /warn config store cluster "newc" is not served: the config file defines cluster "newc" at \S*xdsd\.yaml:4:\d+/);
    const metric = async () => /^xdsd_store_objects_shadowed (\d+)$/m.exec(await (await fetch(`${daemon.adminUrl}/metrics`)).text())?.[1];
    assert.equal(await metric(), "1");
    const got = await call("GET", "/v1/clusters/newc", undefined, {}, undefined, daemon);
    assert.deepEqual([got.json.managedBy, (got.json.shadowed as { reason: string }).reason], ["api", 'the config file defines cluster "newc"']);
    assert.equal((await call("PUT", "/v1/clusters/newc", { endpoints: [] }, {}, undefined, daemon)).status, 409, "the file manages the name");
    const deleted = await call("DELETE", "/v1/clusters/newc", undefined, {}, undefined, daemon);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
    assert.equal((await call("GET", "/v1/clusters/newc", undefined, {}, undefined, daemon)).json.managedBy, "file");
    assert.deepEqual((await daemon.admin<{ config: { shadowed?: unknown[] } }>("/config")).json.config.shadowed, []);
    assert.equal(await metric(), "0");
    assert.deepEqual(await servedEndpoints("newc", daemon), ['"address":"127.0.0.2"', '"portValue":9102'], "the file's newc is still served");
  } finally {
    await daemon.stop();
  }
});

test("DELETE of a cluster while endpoints register into it deletes what is registered when it commits", { timeout: 60_000 }, async () => {
  const statuses = new Map<number, number>();
  for (let round = 0; round < 12; round++) {
    const cluster = `race${round}`;
    assert.equal((await call("PUT", `/v1/clusters/${cluster}`, { endpoints: [] })).status, 201);
    const registrations = Array.from({ length: 6 }, (_, k) => call("PUT", `/v1/clusters/${cluster}/endpoints/127.0.0.1:${9200 + k}`, {}));
    const deleted = await call("DELETE", `/v1/clusters/${cluster}`);
    statuses.set(deleted.status, (statuses.get(deleted.status) ?? 0) + 1);
    assert.equal(deleted.status, 200, `round ${round}: ${JSON.stringify(deleted.json)}`);
    await Promise.all(registrations);
    assert.equal((await call("GET", `/v1/clusters/${cluster}`)).status, 404);
    for (let k = 0; k < 6; k++) {
      assert.equal((await call("GET", `/v1/clusters/${cluster}/endpoints/127.0.0.1:${9200 + k}`)).status, 404, "no endpoint outlives its cluster");
    }
  }
  assert.deepEqual([...statuses], [[200, 12]]);
});

test("an endpoint has one spelling: the key, the duplicate check and what is served use the canonical address", async () => {
  assert.equal((await call("PUT", "/v1/clusters/six", { endpoints: [] })).status, 201);
  const first = await call("PUT", "/v1/clusters/six/endpoints/[::1]:80", {});
  assert.equal(first.status, 201);
  for (const spelling of ["[0:0:0:0:0:0:0:1]:80", "[::0001]:80", "[0::1]:080"]) {
    const again = await call("PUT", `/v1/clusters/six/endpoints/${spelling}`, { weight: 2 });
    assert.equal(again.status, 200, `${spelling} is the same endpoint: ${JSON.stringify(again.json)}`);
    assert.equal(again.json.endpoint, "[::1]:80");
  }
  const leading = await call("PUT", "/v1/clusters/six/endpoints/1.2.3.4:080", {});
  assert.deepEqual([leading.status, leading.json.endpoint], [201, "1.2.3.4:80"]);
  const listed = (await call("GET", "/v1/clusters/six")).json.endpoints as { endpoint: string }[];
  assert.deepEqual(listed.map((e) => e.endpoint).sort(), ["1.2.3.4:80", "[::1]:80"]);
  assert.deepEqual((await servedEndpoints("six")).sort(), ['"address":"1.2.3.4"', '"address":"::1"', '"portValue":80', '"portValue":80']);
  assert.equal((await call("DELETE", "/v1/clusters/six/endpoints/1.2.3.4:80")).status, 200, "deleted by the spelling it is served under");
  assert.equal((await call("DELETE", "/v1/clusters/six/endpoints/[0:0::1]:80")).status, 200, "or by any spelling of it");
  const zoned = await call("PUT", "/v1/clusters/six/endpoints/[fe80::1%25eth0]:80", {});
  assert.equal(zoned.status, 400);
  assert.match(String(zoned.json.detail), /zone/);
  const inFile = await call("PUT", "/v1/clusters/six", { endpoints: ["[::1]:80", "[0:0::1]:80"] });
  assert.equal(inFile.status, 422, "two spellings of one endpoint in a cluster's list");
  const errors = inFile.json.errors as { path?: string; message: string }[];
  assert.equal(errors[0].path, "clusters.six.endpoints[1]");
  assert.match(errors[0].message, /endpoint \[::1\]:80 is listed twice \(also at clusters\.six\.endpoints\[0\]\)/);
  assert.doesNotMatch(errors[0].message, /undefined/);
});

test("a wrong token is 401 whatever its bytes, the token's length in bytes ≥ 0x80 included", async () => {
  for (const given of ["é".repeat(token.length), "é".repeat(token.length / 2), "x", `${token}x`, token.slice(0, -1)]) {
    const r = await call("PUT", "/v1/clusters/tok", {}, { authorization: `Bearer ${given}` });
    assert.equal(r.status, 401, `${JSON.stringify(given)}: ${JSON.stringify(r.json)}`);
  }
});

test("a path with broken percent-encoding is 400, not 500", async () => {
  for (const path of ["/v1/clusters/%FF", "/v1/clusters/web/endpoints/%E0%A4%A", "/v1/resources/envoy.config.cluster.v3.Cluster/%C0"]) {
    const r = await call("GET", path, undefined, { authorization: "" });
    assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.json)}`);
    assert.match(String(r.json.detail), /percent-encoding/);
  }
});

test("If-Match with a well-formed entity tag that matches no revision is 412 (RFC 9110 §13.1.1); a malformed one 400", async () => {
  const created = await call("PUT", "/v1/clusters/etag", { endpoints: [] });
  for (const tag of ['"nope"', 'W/"x7"', '"abc", "def"', '""']) {
    const r = await call("PUT", "/v1/clusters/etag", { endpoints: [] }, { "if-match": tag });
    assert.equal(r.status, 412, `If-Match: ${tag}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.code, "XDSD_STORE_CONFLICT");
  }
  assert.equal((await call("DELETE", "/v1/clusters/etag", undefined, { "if-match": '"nope"' })).status, 412);
  assert.equal((await call("PUT", "/v1/clusters/etag", { endpoints: [] }, { "if-match": "nope" })).status, 400, "not an entity tag");
  assert.equal((await call("PUT", "/v1/clusters/etag", { endpoints: [] }, { "if-match": created.headers.etag as string })).status, 200);
});

test("deep nesting in a write is a 422 located at the store object's path, not a stack overflow", async () => {
  const depth = 5000;
  const metadata = `{"a": ${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
  const r = await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:9300", undefined, {}, `{"metadata": ${metadata}}`);
  assert.equal(r.status, 422, JSON.stringify(r.json).slice(0, 500));
  const errors = r.json.errors as { path?: string; location: string; message: string }[];
  assert.match(errors[0].location, /^store/);
  assert.match(String(errors[0].path), /^endpoints\["web\/127\.0\.0\.1:9300"\]\.metadata\.a(\.a)*$/);
  assert.match(errors[0].message, /nesting is deeper than 100 levels/);
  assert.equal((await call("GET", "/v1/clusters/web/endpoints/127.0.0.1:9300")).status, 404);
});

test("a cluster whose name contains / takes endpoint registrations, apart from the cluster named like its prefix", async () => {
  assert.equal((await call("PUT", "/v1/clusters/slash", { endpoints: [] })).status, 201);
  assert.equal((await call("PUT", `/v1/clusters/${encodeURIComponent("slash/b")}`, { endpoints: [] })).status, 201);
  const put = await call("PUT", `/v1/clusters/${encodeURIComponent("slash/b")}/endpoints/127.0.0.1:9400`, {});
  assert.equal(put.status, 201, JSON.stringify(put.json));
  assert.deepEqual(await servedEndpoints("slash/b"), ['"address":"127.0.0.1"', '"portValue":9400']);
  assert.deepEqual(await servedEndpoints("slash"), []);
  assert.deepEqual((await call("GET", "/v1/clusters/slash")).json.endpoints, [], "slash/b's endpoint is not slash's");
  assert.equal((await call("DELETE", "/v1/clusters/slash")).status, 200);
  assert.equal((await call("GET", `/v1/clusters/${encodeURIComponent("slash/b")}/endpoints/127.0.0.1:9400`)).status, 200, "not deleted with slash");
  assert.equal((await call("DELETE", `/v1/clusters/${encodeURIComponent("slash/b")}`)).status, 200);
});

test("a batch names each object once and holds at most 1000 operations", async () => {
  const repeats = await call("POST", "/v1/batch", { operations: Array.from({ length: 20_000 }, () => ({ op: "delete", kind: "cluster", name: "x" })) });
  assert.equal(repeats.status, 400);
  assert.match(String(repeats.json.detail), /at most 1000 operations/);
  const twice = await call("POST", "/v1/batch", {
    operations: [
      { op: "delete", kind: "cluster", name: "x" },
      { op: "delete", kind: "cluster", name: "x" },
    ],
  });
  assert.equal(twice.status, 400);
  assert.match(String(twice.json.detail), /operations\[1\] names cluster "x" again \(operations\[0\]\)/);
  const endpoints = Array.from({ length: 1000 }, (_, i) => ({ op: "put", kind: "endpoint", name: `web/127.0.1.${i >> 8}:${10_000 + i}`, value: {} }));
  const full = await call("POST", "/v1/batch", { operations: endpoints });
  assert.equal(full.status, 200, JSON.stringify(full.json).slice(0, 300));
  const spelled = await call("POST", "/v1/batch", {
    operations: [
      { op: "put", kind: "endpoint", name: "web/127.0.0.1:9500", value: {} },
      { op: "put", kind: "endpoint", name: "web/127.0.0.1:09500", value: {} },
    ],
  });
  assert.equal(spelled.status, 400, "one endpoint spelled twice is named twice");
  assert.equal((await call("POST", "/v1/batch", { operations: endpoints.map((e) => ({ op: "delete", kind: e.kind, name: e.name })) })).status, 200);
});
