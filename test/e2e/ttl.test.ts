// Resource TTLs with a real Envoy 1.40, state of the world (ADS) and incremental (delta ADS): a cluster and a
// listener with `ttl: 2s` stay while xdsd runs (its heartbeats refresh them, well past the TTL), and when xdsd
// dies without a word (SIGKILL: no stream is closed, so only the TTL can tell Envoy), Envoy drops them at their
// TTL — gone from /clusters, /config_dump and its listener port — while the resources without a TTL stay. And when
// xdsd stalls past the TTL (SIGSTOP), Envoy drops them, and gets them back once xdsd runs again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const ttlMs = 2000;

function config(stay: Upstream, expiring: Upstream, stayPort: number, expiringPort: number): string {
  return `clusters:
  - {name: stay_cluster, endpoints: ["${stay.address}:${stay.port}"]}
  - {name: ttl_cluster, ttl: ${ttlMs / 1000}s, endpoints: ["${expiring.address}:${expiring.port}"]}
listeners:
  - name: stay_listener
    address: 127.0.0.1
    port: ${stayPort}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "/", cluster: stay_cluster}]}]
  - name: ttl_listener
    ttl: ${ttlMs / 1000}s
    address: 127.0.0.1
    port: ${expiringPort}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "/", cluster: ttl_cluster}]}]
`;
}

for (const mode of ["ads", "delta-ads"] as const) {
  describe(`resource TTLs, ${mode} mode, real Envoy`, () => {
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    const upstreams: Upstream[] = [];
    let stayPort = 0;
    let ttlPort = 0;

    before(async () => {
      upstreams.push(await startUpstream("stay-1"), await startUpstream("ttl-1"));
      stayPort = await freePort();
      ttlPort = await freePort();
      xdsd = await startXdsd(config(upstreams[0], upstreams[1], stayPort, ttlPort), { args: ["--log-level", "debug"] });
      const bootstrapYaml = await bootstrapFor(xdsd, mode, `ttl-${mode}`, await freePort());
      envoy = await startEnvoy({ bootstrapYaml, name: `ttl-${mode}` });
      await envoy.waitReady();
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop("SIGKILL");
      for (const u of upstreams) await u.close();
    });

    const clusterNames = async () => (await envoy.clusters()).cluster_statuses.map((c) => c.name);

    it("keeps the TTL'd cluster and listener well past their TTL while xdsd sends heartbeats", async () => {
      await envoy.waitFor(async () => (await countUpstreams(`http://127.0.0.1:${ttlPort}/`, "any", 1)).get("ttl-1") === 1, {
        what: "traffic through ttl_listener to reach ttl_cluster",
      });
      const mark = xdsd.log().length;
      await new Promise((r) => setTimeout(r, 2.5 * ttlMs));
      assert.ok((await clusterNames()).includes("ttl_cluster"), "ttl_cluster is still there after 2.5 TTLs");
      assert.deepEqual(Object.fromEntries(await countUpstreams(`http://127.0.0.1:${ttlPort}/`, "any", 4)), { "ttl-1": 4 });
      const beats =
        xdsd
          .log()
          .slice(mark)
          .match(/heartbeat .* type=(cds|lds)/g) ?? [];
      assert.ok(beats.length >= 4, `xdsd sent ${beats.length} heartbeats in 2.5 TTLs`);
      assert.match(xdsd.log().slice(mark), /ACK .* type=cds/, "Envoy acknowledges the heartbeats");
    });

    it("when Envoy's TTL lapses while xdsd is stalled (SIGSTOP), the resources come back once xdsd runs again", async () => {
      process.kill(xdsd.pid, "SIGSTOP");
      try {
        await envoy.waitFor(async () => !(await clusterNames()).includes("ttl_cluster"), {
          what: "ttl_cluster to expire while xdsd is stopped",
          timeoutMs: 3 * ttlMs,
          intervalMs: 50,
        });
        assert.ok((await clusterNames()).includes("stay_cluster"), "the cluster without a TTL stays");
      } finally {
        process.kill(xdsd.pid, "SIGCONT");
      }
      // SotW heartbeats carry the bodies; a delta heartbeat is refused (Envoy no longer holds the resource) and
      // xdsd sends the resources again.
      await envoy.waitFor(async () => (await countUpstreams(`http://127.0.0.1:${ttlPort}/`, "any", 1)).get("ttl-1") === 1, {
        what: "traffic through ttl_listener to reach ttl_cluster again",
        timeoutMs: 3 * ttlMs,
      });
      assert.ok((await clusterNames()).includes("ttl_cluster"));
    });

    it("when xdsd dies, Envoy drops exactly the TTL'd resources at their TTL and says so in its admin", async () => {
      assert.equal(await xdsd.stop("SIGKILL"), null);
      const t0 = Date.now();
      await envoy.waitFor(async () => !(await clusterNames()).includes("ttl_cluster"), {
        what: "ttl_cluster to expire",
        timeoutMs: 3 * ttlMs,
        intervalMs: 50,
      });
      const elapsed = Date.now() - t0;
      assert.ok(elapsed <= ttlMs + 1000, `expired ${elapsed} ms after xdsd died (TTL ${ttlMs} ms)`);
      const names = await clusterNames();
      assert.ok(names.includes("stay_cluster"), "the cluster without a TTL stays");
      await envoy.waitFor(async () => !JSON.stringify(await envoy.configDump("dynamic_listeners")).includes("ttl_listener"), {
        what: "ttl_listener to expire",
        timeoutMs: 3 * ttlMs,
      });
      const dump = JSON.stringify(await envoy.configDump("dynamic_active_clusters"));
      assert.doesNotMatch(dump, /ttl_cluster/);
      assert.match(dump, /stay_cluster/);
      assert.deepEqual(Object.fromEntries(await countUpstreams(`http://127.0.0.1:${stayPort}/`, "any", 2)), { "stay-1": 2 });
    });
  });
}
