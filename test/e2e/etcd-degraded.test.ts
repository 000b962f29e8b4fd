// Two real daemons on a real 3-member etcd (issue 20 items 2-3), with a real Envoy on one of them:
// - degraded mode: the etcd member a replica talks to stops → that replica keeps serving its last config (Envoy's
//   traffic flows, a new xDS client gets it), its writes answer 503 with problem details, /healthz says degraded
//   (200) and xdsd_store_up is 0, while the other replica writes; the member back → it catches up on the revision
//   the other wrote, Envoy gets that change, its writes work. Then every member stopped: both degraded, both 503.
// - the expiry leader killed with kill -9: the other replica leads within the lease TTL, and a registration whose
//   TTL runs out is deleted once (counted in the store's watch); that one stopped cleanly, a third leads at once.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EtcdStore } from "../../src/store/etcd-store.js";
import type { StoreChange } from "../../src/store/store.js";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd.js";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { RawXdsClient } from "../support/xds-client.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const token = "etcd-degraded-token-0123456789";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaseTtl = 2;

interface Health {
  status: string;
  reason?: string;
  store?: { kind: string; state: string; reason?: string; revision: number; leader: boolean };
}

function api(xdsd: XdsdHandle, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${xdsd.adminUrl}${path}`,
      { method, agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? "" : JSON.stringify(body));
  });
}

const health = async (x: XdsdHandle) => (await x.admin<Health>("/healthz")).json;

async function metric(x: XdsdHandle, name: string): Promise<number | undefined> {
  const text = await new Promise<string>((resolve, reject) =>
    request(`${x.adminUrl}/metrics`, { agent: false }, (res) => {
      let t = "";
      res.on("data", (d) => (t += d));
      res.on("end", () => resolve(t));
    })
      .on("error", reject)
      .end(),
  );
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${String(last)})`);
    await sleep(100);
  }
}

describe("replicas on etcd: degraded mode and the expiry leader", () => {
  let cluster: EtcdCluster;
  const upstreams: Upstream[] = [];
  let tokenFile = "";
  let port = 0;
  const daemons: XdsdHandle[] = [];
  let envoy: EnvoyHandle | undefined;

  before(async () => {
    cluster = await startEtcdCluster();
    upstreams.push(await startUpstream("web-1"), await startUpstream("web-2"), await startUpstream("web-3"));
    const dir = mkdtempSync(join(tmpdir(), "xdsd-etcd-degraded-"));
    tokenFile = join(dir, "token");
    writeFileSync(tokenFile, token);
    port = await freePort();
  });
  after(async () => {
    await envoy?.stop();
    for (const d of daemons) await d.stop("SIGKILL");
    for (const u of upstreams) await u.close();
    await cluster?.stop();
  });

  const addr = (u: Upstream) => `${u.address}:${u.port}`;
  /** A replica on the members given (all by default) under `prefix`. */
  const replica = async (prefix: string, members = [0, 1, 2], config = 'clusters: [{name: static, endpoints: ["127.0.0.1:1"]}]\n') => {
    const d = await startXdsd(config, {
      args: [
        "--store",
        `etcd://${members.map((i) => cluster.endpoints[i]).join(",")}`,
        "--etcd-prefix",
        prefix,
        "--etcd-timeout",
        "1",
        "--leader-lease-ttl",
        String(leaseTtl),
        "--admin-token-file",
        tokenFile,
      ],
    });
    daemons.push(d);
    return d;
  };

  it("a replica cut off from etcd serves its last config, refuses writes with 503 and says degraded; back, it catches up", async (t) => {
    const prefix = `/xdsd-degraded/${randomBytes(4).toString("hex")}/`;
    const listener = `clusters:
  - name: web
    endpoints: ["${addr(upstreams[0])}"]
listeners:
  - name: l
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;
    // A talks to member 0 only: stopping it cuts A off while B (every member) goes on.
    const a = await replica(prefix, [0], listener);
    const b = await replica(prefix, [0, 1, 2], listener);
    envoy = await startEnvoy({ bootstrapYaml: await bootstrapFor(a, "ads", "degraded-node", await freePort()), name: "etcd-degraded" });
    await envoy.waitReady();
    const tally = async (n: number) => Object.fromEntries(await countUpstreams(`http://127.0.0.1:${port}/`, "web.local", n));
    await until("A to serve web", async () => (await tally(2))["web-1"] === 2, 10_000);
    const okA = await health(a);
    assert.equal(okA.status, "ok");
    assert.equal(okA.store?.kind, "etcd");
    assert.equal(okA.store?.state, "ok");
    assert.equal(await metric(a, "xdsd_store_up"), 1);
    // One of the two leads.
    await until("one leader", async () => ((await health(a)).store!.leader !== (await health(b)).store!.leader ? true : undefined), 10_000);

    const logFrom = a.log().length;
    await cluster.kill(0);
    const cutAt = Date.now();
    const degraded = await until("A degraded", async () => ((await health(a)).status === "degraded" ? health(a) : undefined), 10_000);
    assert.match(degraded.reason ?? "", /store does not answer/);
    assert.equal(degraded.store?.state, "degraded");
    t.diagnostic(`degraded ${Date.now() - cutAt} ms after its etcd member stopped (--etcd-timeout 1)`);
    assert.equal((await a.admin("/healthz")).status, 200, "still serving");
    assert.equal(await metric(a, "xdsd_store_up"), 0);
    // Cut off, A cannot hold the lead: B has it within the lease TTL.
    await until("B to lead", async () => (await health(b)).store!.leader, (leaseTtl + 3) * 1000);
    assert.equal(await metric(a, "xdsd_leader"), 0);

    const writeAt = Date.now();
    const refused = await api(a, "PUT", `/v1/clusters/web/endpoints/${addr(upstreams[2])}`, {});
    const refusedIn = Date.now() - writeAt;
    t.diagnostic(`a write answered 503 after ${refusedIn} ms`);
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    // Known degraded, it is refused at once, not after the store's timeout (--etcd-timeout 1) runs out again.
    assert.ok(refusedIn < 900, `the write waited ${refusedIn} ms for its 503`);
    assert.equal((refused.json as { code: string }).code, "XDSD_STORE_UNAVAILABLE");
    assert.match((refused.json as { detail: string }).detail, /keeps serving the last config.*send the write again/);
    assert.equal(refused.headers["retry-after"], "5");
    // Envoy keeps its config and its traffic flows; a new xDS client gets the last config too.
    assert.deepEqual(await tally(4), { "web-1": 4 });
    const fresh = new RawXdsClient(`127.0.0.1:${a.xdsPort}`);
    try {
      fresh.send({ node: { id: "fresh", cluster: "c" }, typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
      const cds = await fresh.next(5_000);
      assert.equal(cds.resources.length, 1);
    } finally {
      fresh.close();
    }

    // Meanwhile B writes: A must catch up on it once it reaches etcd again.
    const meanwhile = await api(b, "PUT", `/v1/clusters/web/endpoints/${addr(upstreams[1])}`, {});
    assert.ok(meanwhile.status === 200 || meanwhile.status === 201, JSON.stringify(meanwhile.json));
    cluster.start(0);
    await cluster.waitHealthy(20_000);
    const backAt = Date.now();
    await until("A ok again", async () => (await health(a)).status === "ok", 15_000);
    await until("A at B's revision", async () => (await health(a)).store!.revision === (await health(b)).store!.revision, 10_000);
    assert.ok((await health(a)).store!.revision >= (meanwhile.json as { revision: number }).revision);
    await until("Envoy (on A) to get B's write", async () => (await tally(6))["web-2"] > 0, 10_000);
    t.diagnostic(`A answered, caught up and Envoy routed to B's write ${Date.now() - backAt} ms after etcd was healthy again`);
    // Said once when it began, however many calls failed meanwhile (one a keep-alive every TTL/3, the watch's).
    assert.equal(
      a
        .log()
        .slice(logFrom)
        .match(/the store does not answer/g)?.length,
      1,
      a.log().slice(logFrom),
    );
    const written = await api(a, "PUT", `/v1/clusters/web/endpoints/${addr(upstreams[2])}`, {});
    assert.ok(written.status === 200 || written.status === 201, JSON.stringify(written.json));
    assert.equal(await metric(a, "xdsd_store_up"), 1);

    // Every member stopped: both replicas degraded, both refuse writes, traffic flows.
    await Promise.all([0, 1, 2].map((i) => cluster.kill(i)));
    for (const x of [a, b]) await until("degraded", async () => (await health(x)).status === "degraded", 10_000);
    for (const x of [a, b]) assert.equal((await api(x, "DELETE", `/v1/clusters/web/endpoints/${addr(upstreams[2])}`)).status, 503);
    assert.equal((await metric(a, "xdsd_leader"))! + (await metric(b, "xdsd_leader"))!, 0, "no leader without etcd");
    const during = await tally(6);
    assert.equal((during["web-1"] ?? 0) + (during["web-2"] ?? 0) + (during["web-3"] ?? 0), 6);
    for (const i of [0, 1, 2]) cluster.start(i);
    await cluster.waitHealthy(20_000);
    for (const x of [a, b]) await until("ok again", async () => (await health(x)).status === "ok", 15_000);
    const removed = await api(b, "DELETE", `/v1/clusters/web/endpoints/${addr(upstreams[2])}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.json));
    await until("same revision", async () => (await health(a)).store!.revision === (await health(b)).store!.revision, 10_000);
    await until("one leader again", async () => (await metric(a, "xdsd_leader"))! + (await metric(b, "xdsd_leader"))! === 1, (leaseTtl + 5) * 1000);
    await envoy.stop();
    envoy = undefined;
  });

  it("the expiry leader killed with kill -9: the other replica leads within the lease TTL and expires a registration, once", async (t) => {
    const prefix = `/xdsd-expiry/${randomBytes(4).toString("hex")}/`;
    const a = await replica(prefix);
    const b = await replica(prefix);
    assert.equal((await api(a, "PUT", "/v1/clusters/svc", { endpoints: [] })).status, 201);
    const leader = await until("a leader", async () => ((await health(a)).store!.leader ? a : (await health(b)).store!.leader ? b : undefined), 10_000);
    const other = leader === a ? b : a;
    // Deletions of the registration, counted in the store's own watch.
    const watcher = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
    const deletes: StoreChange[] = [];
    const from = await watcher.revision();
    const cancel = watcher.watch(
      from,
      (c) => c.kind === "endpoint" && c.value === undefined && deletes.push(c),
      () => {},
    );
    try {
      const registered = await api(other, "PUT", `/v1/clusters/svc/endpoints/${addr(upstreams[0])}`, { ttl: "3s" });
      assert.ok(registered.status === 201 || registered.status === 200, JSON.stringify(registered.json));
      const killedAt = Date.now();
      await leader.stop("SIGKILL");
      await until("the other to lead", async () => (await health(other)).store!.leader, (leaseTtl + 3) * 1000);
      const tookMs = Date.now() - killedAt;
      t.diagnostic(`the other replica led ${tookMs} ms after the leader's kill -9 (--leader-lease-ttl ${leaseTtl})`);
      assert.ok(tookMs <= leaseTtl * 1000 + 2_000, `took ${tookMs} ms`);
      await until("the registration to expire", async () => deletes.length > 0, 10_000);
      await sleep(1_000);
      assert.equal(deletes.length, 1, "deleted once");
      const left = await api(other, "GET", "/v1/clusters/svc");
      assert.deepEqual((left.json as { endpoints: unknown[] }).endpoints, []);
      // A clean stop revokes the lease: a third replica leads at once, not a lease TTL later.
      const third = await replica(prefix);
      const stoppedAt = Date.now();
      assert.equal(await other.stop(), 0);
      await until("the third to lead", async () => (await health(third)).store!.leader, leaseTtl * 1000);
      const handover = Date.now() - stoppedAt;
      t.diagnostic(`a clean stop handed the lead over in ${handover} ms`);
      assert.ok(handover < 1_000, `the lead moved ${handover} ms after a clean stop`);
    } finally {
      cancel();
      await watcher.close();
    }
  });
});
