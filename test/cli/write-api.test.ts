// The write API of a real daemon (xdsd serve with a store and a token): every status it answers, compare-and-set
// with ETag / If-Match (concurrent writers: exactly one wins), the file's names refused, an invalid write refused
// whole with field paths, endpoint registration into a file-defined cluster reaching the served snapshot, and
// everything acknowledged still served after a restart on the same data directory.
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";
import { RawXdsClient } from "../support/xds-client.js";
import { TypeUrl } from "../../src/resource/type-urls.js";

const token = "test-token-0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "xdsd-api-"));
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, `${token}\n`);
const dataDir = join(dir, "data");
const config = `clusters:
  - name: web
    endpoints: ["127.0.0.1:8081"]
listeners:
  - name: l
    port: 10000
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;
let xdsd: XdsdHandle;

before(async () => {
  xdsd = await startXdsd(config, { args: ["--admin-token-file", tokenFile, "--data-dir", dataDir] });
});
after(async () => {
  await xdsd?.stop();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, raw?: string): Promise<Reply> {
  const text = raw ?? (body === undefined ? "" : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      `${xdsd.adminUrl}${path}`,
      { method, agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers } },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: data ? JSON.parse(data) : {} }));
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

const servedEndpoints = async (cluster: string): Promise<string[]> => {
  const view = await xdsd.admin<{ default: { eds: { resources: { name: string; resource: { endpoints?: { lbEndpoints?: unknown[] }[] } }[] } } }>("/config");
  const cla = view.json.default.eds.resources.find((r) => r.name === cluster);
  return JSON.stringify(cla?.resource ?? {}).match(/"portValue":\d+/g) ?? [];
};

test("create, read with ETag, replace with If-Match; a stale If-Match is 412 and changes nothing", async () => {
  const created = await call("PUT", "/v1/clusters/api", { endpoints: ["127.0.0.1:8090"] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const etag = created.headers.etag as string;
  assert.match(etag, /^"\d+"$/);
  const got = await call("GET", "/v1/clusters/api");
  assert.deepEqual([got.status, got.headers.etag, got.json.managedBy], [200, etag, "api"]);
  assert.deepEqual(await servedEndpoints("api"), ['"portValue":8090']);
  const stale = await call("PUT", "/v1/clusters/api", { endpoints: [] }, { "if-match": '"1234567"' });
  assert.equal(stale.status, 412);
  assert.equal(stale.headers["content-type"], "application/problem+json");
  assert.equal(stale.json.code, "XDSD_STORE_CONFLICT");
  const replaced = await call("PUT", "/v1/clusters/api", { endpoints: ["127.0.0.1:8091"] }, { "if-match": etag });
  assert.equal(replaced.status, 200);
  assert.deepEqual(await servedEndpoints("api"), ['"portValue":8091']);
  assert.equal((await call("PUT", "/v1/clusters/api", { endpoints: [] }, { "if-none-match": "*" })).status, 412, "If-None-Match: * on an existing one");
});

test("concurrent writers with the same If-Match: exactly one wins", async () => {
  const base = await call("PUT", "/v1/clusters/race", { endpoints: [] });
  const etag = base.headers.etag as string;
  const replies = await Promise.all(
    Array.from({ length: 6 }, (_, i) => call("PUT", "/v1/clusters/race", { endpoints: [`127.0.0.1:${9000 + i}`] }, { "if-match": etag })),
  );
  assert.deepEqual(replies.map((r) => r.status).sort(), [200, 412, 412, 412, 412, 412]);
});

test("a name the file defines is the file's: 409 naming the file and line", async () => {
  const r = await call("PUT", "/v1/clusters/web", { endpoints: [] });
  assert.equal(r.status, 409);
  assert.equal(r.json.code, "XDSD_MANAGED_BY_FILE");
  assert.match(String(r.json.detail), /xdsd\.yaml:2:\d+/);
  assert.equal((await call("DELETE", "/v1/clusters/web")).status, 409);
});

test("an invalid write is 422 with the object's field path, and nothing is stored or served", async () => {
  const before = await xdsd.admin<{ config: { version: string } }>("/config");
  const r = await call("PUT", "/v1/clusters/bad", { endpoints: ["127.0.0.1:99999"], lb_policy: "FASTEST" });
  assert.equal(r.status, 422, JSON.stringify(r.json));
  const errors = r.json.errors as { path?: string; message: string }[];
  assert.ok(
    errors.some((e) => e.path === "clusters.bad.lb_policy"),
    JSON.stringify(errors),
  );
  assert.equal((await call("GET", "/v1/clusters/bad")).status, 404);
  assert.equal((await xdsd.admin<{ config: { version: string } }>("/config")).json.config.version, before.json.config.version);
});

test("an endpoint registered into the file's cluster is served, with its health status; deregistered, it is gone", async () => {
  const put = await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8082", { weight: 3, health_status: "DRAINING" });
  assert.equal(put.status, 201, JSON.stringify(put.json));
  assert.deepEqual((await servedEndpoints("web")).sort(), ['"portValue":8081', '"portValue":8082']);
  const view = JSON.stringify((await xdsd.admin("/config")).json);
  assert.match(view, /"healthStatus":"DRAINING"/);
  assert.equal((await call("GET", "/v1/clusters/web/endpoints/127.0.0.1:8082")).json.health_status, "DRAINING");
  const dup = await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8081", {});
  assert.equal(dup.status, 422, "the file lists that endpoint already");
  assert.equal((await call("DELETE", "/v1/clusters/web/endpoints/127.0.0.1:8082")).status, 200);
  assert.deepEqual(await servedEndpoints("web"), ['"portValue":8081']);
});

test("errors: 401, 404, 405, 400, 413, 415, and writes refused without a token file", async () => {
  const cases: [Promise<Reply>, number, RegExp][] = [
    [call("PUT", "/v1/clusters/x", {}, { authorization: "Bearer wrong-token-0000000000" }), 401, /Bearer/],
    [call("GET", "/v1/clusters/none"), 404, /no cluster "none"/],
    [call("PUT", "/v1/clusters/none/endpoints/127.0.0.1:1", {}), 404, /no cluster "none"/],
    [call("DELETE", "/v1/clusters/none/endpoints/127.0.0.1:1"), 404, /no endpoint/],
    [call("GET", "/v1/widgets"), 404, /\/v1\/clusters/],
    [call("POST", "/v1/clusters/x", {}), 405, /allowed: GET, PUT, DELETE/],
    [call("PUT", "/v1/clusters/x", undefined, {}, "{not json"), 400, /not JSON/],
    [call("PUT", "/v1/clusters/x", undefined, {}, "[1]"), 400, /must be a JSON object/],
    [call("PUT", "/v1/clusters/x", { name: "y" }), 400, /names cluster "y"/],
    [call("PUT", "/v1/clusters/web/endpoints/nohost", {}), 400, /path's endpoint/],
    [call("PUT", "/v1/clusters/x", undefined, {}, `{"a":"${"x".repeat(1_100_000)}"}`), 413, /over 1048576 bytes/],
    [call("PUT", "/v1/clusters/x", {}, { "content-type": "text/plain" }), 415, /application\/json/],
  ];
  for (const [pending, status, detail] of cases) {
    const r = await pending;
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.match(String(r.json.detail), detail);
    assert.equal(r.json.status, status);
  }
  const readOnly = await startXdsd(config);
  try {
    const r = await new Promise<number>((resolve, reject) => {
      const req = request(`${readOnly.adminUrl}/v1/clusters/x`, { method: "PUT", agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end("{}");
    });
    assert.equal(r, 403);
  } finally {
    await readOnly.stop();
  }
});

test("listeners, raw resources and node groups: created, served, refused when invalid", async () => {
  const listener = { port: 10001, virtual_hosts: [{ name: "v2", domains: ["*"], routes: [{ prefix: "/", cluster: "web" }] }] };
  assert.equal((await call("PUT", "/v1/listeners/l2", listener)).status, 201);
  const clash = await call("PUT", "/v1/listeners/l3", { ...listener, port: 10000 });
  assert.equal(clash.status, 422, "port 10000 is the file's listener's");
  const raw = {
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: "raw1",
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 8100 } } } }] }],
    },
  };
  const type = "envoy.config.cluster.v3.Cluster";
  assert.equal((await call("PUT", `/v1/resources/${type}/raw1`, raw)).status, 201);
  const view = JSON.stringify((await xdsd.admin("/config")).json);
  assert.match(view, /"name":"raw1"/);
  assert.match(view, /"name":"l2"/);
  const bad = await call("PUT", `/v1/resources/${type}/raw2`, { ...raw, connect_timout: "1s" });
  assert.equal(bad.status, 422);
  assert.match(JSON.stringify(bad.json.errors), /connect_timout/);
  assert.equal((await call("PUT", "/v1/resources/not.a.Type/x", {})).status, 400);
  const group = await call("PUT", `/v1/node-groups/${encodeURIComponent("edge/n1")}`, { clusters: [{ name: "edge", endpoints: ["127.0.0.1:8200"] }] });
  assert.equal(group.status, 201, JSON.stringify(group.json));
  const groups = (await xdsd.admin<{ nodes: Record<string, unknown> }>("/config")).json.nodes;
  assert.ok("edge/n1" in groups);
  assert.equal((await call("DELETE", `/v1/node-groups/${encodeURIComponent("edge/n1")}`)).status, 200);
});

test("a batch applies all its operations at one revision, or none of them when the result is invalid", async () => {
  const ok = await call("POST", "/v1/batch", {
    operations: [
      { op: "put", kind: "cluster", name: "b1", value: { endpoints: ["127.0.0.1:8300"] } },
      {
        op: "put",
        kind: "listener",
        name: "lb1",
        value: { port: 10002, virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ prefix: "/", cluster: "b1" }] }] },
      },
      { op: "put", kind: "endpoint", name: "b1/127.0.0.1:8301", value: { weight: 2 } },
    ],
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  const revision = ok.json.revision as number;
  const got = [await call("GET", "/v1/clusters/b1"), await call("GET", "/v1/listeners/lb1")];
  assert.deepEqual(
    got.map((g) => g.headers.etag),
    [`"${revision}"`, `"${revision}"`],
  );
  const refused = await call("POST", "/v1/batch", {
    operations: [
      { op: "put", kind: "cluster", name: "b2", value: { endpoints: [] } },
      {
        op: "put",
        kind: "listener",
        name: "lb2",
        value: { port: 10003, virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ prefix: "/", cluster: "nowhere" }] }] },
      },
    ],
  });
  assert.equal(refused.status, 422);
  assert.equal((await call("GET", "/v1/clusters/b2")).status, 404, "nothing of the refused batch was stored");
  const malformed = await call("POST", "/v1/batch", { operations: [{ op: "upsert", kind: "cluster", name: "x", value: {} }] });
  assert.equal(malformed.status, 400);
  assert.match(String(malformed.json.detail), /operations\[0\]\.op/);
});

test("xdsd_store_writes_total counts the writes by result", async () => {
  const counts = async () => {
    const text = await (await fetch(`${xdsd.adminUrl}/metrics`)).text();
    const count = (result: string) => Number(new RegExp(`^xdsd_store_writes_total\\{result="${result}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    return { committed: count("committed"), conflict: count("conflict"), invalid: count("invalid"), managed_by_file: count("managed_by_file") };
  };
  const before = await counts();
  const created = await call("PUT", "/v1/clusters/counted", { endpoints: [] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const stale = `"${Number(String(created.headers.etag).replaceAll('"', "")) - 1}"`;
  assert.equal((await call("PUT", "/v1/clusters/counted", { endpoints: [] }, { "if-match": stale })).status, 412);
  assert.equal((await call("PUT", "/v1/clusters/counted", { endpoints: [], lb_policy: "FASTEST" })).status, 422);
  assert.equal((await call("PUT", "/v1/clusters/web", { endpoints: [] })).status, 409);
  const after = await counts();
  assert.deepEqual(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]])), {
    committed: 1,
    conflict: 1,
    invalid: 1,
    managed_by_file: 1,
  });
  assert.equal((await call("DELETE", "/v1/clusters/counted")).status, 200);
});

test("an endpoint registered with a ttl is deregistered once it lapses unless a PUT renews it (the daemon's real clock, ttl 1s)", async () => {
  const path = (hp: string) => `/v1/clusters/web/endpoints/${hp}`;
  const registeredAt = Date.now();
  assert.equal((await call("PUT", path("127.0.0.1:8201"), { ttl: "1s" })).status, 201);
  assert.equal((await call("PUT", path("127.0.0.1:8202"), { ttl: "1s", weight: 2 })).status, 201);
  const got = await call("GET", path("127.0.0.1:8201"));
  assert.equal(got.json.ttl, "1s");
  assert.ok(Date.parse(String(got.json.expires_at)) > registeredAt, `expires_at ${String(got.json.expires_at)}`);
  assert.ok((await servedEndpoints("web")).includes('"portValue":8201'));
  // 8202 is renewed (the same PUT again) at least twice and until 8201 is gone; each renewal finds it still
  // registered (200, not 201).
  let renewals = 0;
  while (renewals < 2 || (await call("GET", path("127.0.0.1:8201"))).status === 200) {
    assert.ok(Date.now() - registeredAt < 10_000, "8201 still registered 10 s after its 1 s ttl");
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await call("PUT", path("127.0.0.1:8202"), { ttl: "1s", weight: 2 })).status, 200, `renewal ${++renewals}`);
  }
  assert.ok(Date.now() - registeredAt >= 1000, "not deregistered before its ttl");
  assert.equal((await call("GET", path("127.0.0.1:8202"))).status, 200, "renewed: still registered");
  const served = await servedEndpoints("web");
  assert.ok(!served.includes('"portValue":8201') && served.includes('"portValue":8202'), served.join(" "));
  assert.match(xdsd.log(), /endpoint web\/127\.0\.0\.1:8201 expired: its registration \(ttl 1s\) was not renewed/);
  for (const [body, message] of [
    [{ ttl: "0.5s" }, /"ttl" must be a duration in seconds from 1s/],
    [{ ttl: 30 }, /"ttl" must be a duration/],
    [{ expires_at: "2030-01-01T00:00:00Z" }, /"expires_at" is set by xdsd/],
  ] as const) {
    const refused = await call("PUT", path("127.0.0.1:8203"), body);
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.detail), message);
  }
  assert.equal((await call("DELETE", path("127.0.0.1:8202"))).status, 200);
});

test("?wait=acked answers once every proxy concerned ACKed; 202 naming the proxy that did not, at the timeout", async () => {
  const none = await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8301?wait=acked", {});
  assert.equal(none.status, 201, "no proxy connected: nothing to wait for");
  assert.deepEqual(none.json.rollout, { complete: true, groups: 0, settled: 0, acked: 0, nacked: [], pending: [], timedOut: false });
  const eds = async (id: string, ack: boolean) => {
    const client = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
    client.send({ node: { id, cluster: "wait-test" }, typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["web"] });
    const first = await client.next();
    client.ack(first, ["web"]);
    // Keeps ACKing what comes, or not, until closed (a wait of 60 s would keep the test file alive that long).
    let open = true;
    const loop = async () => {
      while (open) {
        const r = await client.next(500).catch(() => undefined);
        if (r && ack) client.ack(r, ["web"]);
      }
    };
    void loop();
    return {
      close() {
        open = false;
        client.close();
      },
    };
  };
  const good = await eds("good", true);
  const acked = await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8302?wait=acked", {});
  assert.equal(acked.status, 201, JSON.stringify(acked.json));
  assert.deepEqual(acked.json.rollout, { complete: true, groups: 1, settled: 1, acked: 1, nacked: [], pending: [], timedOut: false });
  const silent = await eds("silent", false);
  const started = Date.now();
  const timedOut = await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8303?wait=acked&timeout=1s", {});
  assert.ok(Date.now() - started >= 900, "waited for the timeout");
  assert.equal(timedOut.status, 202, "committed, not acknowledged by every proxy");
  const rollout = timedOut.json.rollout as { complete: boolean; timedOut: boolean; pending: { node: string; service: string }[] };
  assert.deepEqual([rollout.complete, rollout.timedOut], [false, true]);
  assert.equal(rollout.pending.length, 1, JSON.stringify(rollout.pending));
  assert.match(rollout.pending[0].node, /silent/, "the proxy that did not ACK, not the one that did");
  assert.equal(rollout.pending[0].service, "ads");
  assert.ok((await servedEndpoints("web")).includes('"portValue":8303'), "the write was committed all the same");
  assert.equal((await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8304?wait=yes", {})).status, 400);
  assert.equal((await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8304?timeout=1s", {})).status, 400);
  assert.equal((await call("PUT", "/v1/clusters/web/endpoints/127.0.0.1:8304?wait=acked&timeout=soon", {})).status, 400);
  good.close();
  silent.close();
  for (const p of [8301, 8302, 8303]) assert.equal((await call("DELETE", `/v1/clusters/web/endpoints/127.0.0.1:${p}`)).status, 200);
});

test("what was acknowledged is served again after a restart on the same data directory", async () => {
  assert.equal((await call("PUT", "/v1/clusters/durable", { endpoints: ["127.0.0.1:8099"] })).status, 201);
  assert.equal(await xdsd.stop(), 0);
  xdsd = await startXdsd(config, { args: ["--admin-token-file", tokenFile, "--data-dir", dataDir] });
  assert.deepEqual(await servedEndpoints("durable"), ['"portValue":8099']);
  assert.equal((await call("GET", "/v1/clusters/durable")).status, 200);
});
