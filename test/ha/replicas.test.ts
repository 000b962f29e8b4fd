// Three xdsd replicas on one real 3-member etcd cluster, real Envoys (issue 20, "Prove it"):
// - two Envoys each connected to a different replica: a write through one replica reaches both Envoys' /clusters
//   within 1 s, and every replica serves the same versions;
// - failover under traffic, over ADS and delta ADS: requests through Envoy at 300 per second while the replica it is
//   connected to is kill -9ed: none fails, Envoy is on another replica within 2 s and is sent nothing it already
//   has (its xDS update counters stand still, the new replica sends it no byte), and a change made after the kill
//   reaches it.
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { type ReplicaSet, startReplicas } from "../support/replicas.js";
import { startUpstream, type Upstream } from "../support/upstream.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let set: ReplicaSet;
const upstreams: Upstream[] = [];
let listenPort = 0;

before(async () => {
  upstreams.push(await startUpstream("web-1"), await startUpstream("web-2"), await startUpstream("web-3"));
  listenPort = await freePort();
  set = await startReplicas(`clusters:
  - name: web
    endpoints: ["${upstreams[0].address}:${upstreams[0].port}"]
listeners:
  - name: l
    address: 127.0.0.1
    port: ${listenPort}
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`);
});
after(async () => {
  await set?.stop();
  for (const u of upstreams) await u.close();
});

/** An Envoy whose bootstrap names every running replica, or those of `only` (by index). */
async function envoyOn(mode: string, nodeId: string, only?: number[]): Promise<EnvoyHandle> {
  const envoy = await startEnvoy({ bootstrapYaml: await set.bootstrap(mode, nodeId, await freePort(), only), name: nodeId });
  await envoy.waitReady();
  return envoy;
}

const clusterNames = async (envoy: EnvoyHandle) => (await envoy.clusters()).cluster_statuses.map((c) => c.name);
const hostCount = async (envoy: EnvoyHandle, cluster: string) =>
  (await envoy.clusters()).cluster_statuses.find((c) => c.name === cluster)?.host_statuses?.length ?? 0;

/** Every xDS update Envoy took or rejected, all types together (`*.update_success`, `*.update_rejected`). */
async function updatesTaken(envoy: EnvoyHandle): Promise<number> {
  let sum = 0;
  for (const [name, value] of await envoy.stats("update_(success|rejected)$"))
    if (typeof value === "number" && !name.startsWith("cluster.xds_cluster")) sum += value;
  return sum;
}

describe("replicas", () => {
  it("a write through one replica reaches Envoys on two others within 1 s; every replica serves the same versions", async () => {
    const a = await envoyOn("ads", "conv-a", [1]);
    const b = await envoyOn("delta-ads", "conv-b", [2]);
    try {
      assert.deepEqual([await set.connectedTo("conv-a"), await set.connectedTo("conv-b")], [1, 2]);
      const t0 = Date.now();
      const put = await set.api(0, "PUT", "/v1/clusters/added", { endpoints: [`${upstreams[1].address}:${upstreams[1].port}`] });
      assert.equal(put.status, 201, put.body);
      for (const envoy of [a, b]) {
        await envoy.waitFor(async () => (await clusterNames(envoy)).includes("added"), { what: "cluster added", timeoutMs: 1000, intervalMs: 10 });
      }
      const took = Date.now() - t0;
      assert.ok(took <= 1000, `the write reached both Envoys in ${took} ms`);
      const versions = await Promise.all([0, 1, 2].map((i) => set.versions(i)));
      assert.ok(versions[0].cds, JSON.stringify(versions));
      assert.deepEqual(versions[1], versions[0]);
      assert.deepEqual(versions[2], versions[0]);
      const removed = await set.api(2, "DELETE", "/v1/clusters/added");
      assert.equal(removed.status, 200, removed.body);
      for (const envoy of [a, b]) {
        await envoy.waitFor(async () => !(await clusterNames(envoy)).includes("added"), { what: "cluster removed", timeoutMs: 1000, intervalMs: 10 });
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  for (const mode of ["ads", "delta-ads"]) {
    it(`${mode}: kill -9 of Envoy's replica under 300 requests/s: none fails, Envoy moves within 2 s, is resent nothing, and takes the next change`, async () => {
      const nodeId = `failover-${mode}`;
      const envoy = await envoyOn(mode, nodeId);
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      try {
        const from = await set.connectedTo(nodeId);
        assert.ok(from >= 0, "Envoy is on a replica");
        const takenBefore = await updatesTaken(envoy);
        const sentBefore = await Promise.all([0, 1, 2].map((i) => (i === from ? 0 : set.metric(i, "xdsd_response_bytes_total"))));

        const rate = 300;
        const total = rate * 5;
        const load = runLoad(`http://127.0.0.1:${listenPort}/`, agent, rate, total, 10_000);
        await sleep(1000);
        const killedAt = Date.now();
        await set.replicas[from]!.stop("SIGKILL");
        set.replicas[from] = undefined;
        let to = -1;
        while ((to = await set.connectedTo(nodeId)) < 0 && Date.now() - killedAt < 5_000) await sleep(20);
        const moved = Date.now() - killedAt;
        assert.ok(to >= 0 && moved <= 2_000, `Envoy on replica ${to} ${moved} ms after the kill`);

        // Nothing it holds is sent again: the new replica has every version it reports (SotW version_info, delta
        // initial_resource_versions). Counted on both ends, after time for any response to arrive.
        await sleep(500);
        const sentAfter = await set.metric(to, "xdsd_response_bytes_total");
        assert.equal(sentAfter - sentBefore[to], 0, `bytes replica ${to} sent to the Envoy that moved to it`);
        assert.equal(await updatesTaken(envoy), takenBefore, "xDS updates Envoy took after the move");

        const t0 = Date.now();
        const put = await set.api(to, "PUT", `/v1/clusters/web/endpoints/${upstreams[2].address}:${upstreams[2].port}`, { weight: 1 });
        assert.ok(put.status === 200 || put.status === 201, put.body);
        await envoy.waitFor(async () => (await hostCount(envoy, "web")) === 2, { what: "web-3 registered after the kill", timeoutMs: 1000, intervalMs: 10 });
        const reached = Date.now() - t0;

        const result = await load;
        assert.deepEqual(result.failures.slice(0, 5), [], `${result.failures.length} of ${result.sent} requests failed`);
        assert.ok(result.sent === total && result.rps >= 200, `${result.sent} requests at ${result.rps.toFixed(0)}/s`);
        console.log(
          `# ${mode}: ${result.sent} requests at ${result.rps.toFixed(0)}/s, 0 failed; on replica ${to} ${moved} ms after the kill; 0 bytes resent; the next change reached Envoy in ${reached} ms`,
        );

        const removed = await set.api(to, "DELETE", `/v1/clusters/web/endpoints/${upstreams[2].address}:${upstreams[2].port}`);
        assert.equal(removed.status, 200, removed.body);
      } finally {
        agent.destroy();
        await envoy.stop();
        for (const i of [0, 1, 2]) if (!set.replicas[i]) await set.start(i);
      }
    });
  }
});

/**
 * `total` GETs at `rate` per second (request k is sent at k/rate s, at most 16 in flight), all within `maxMs`: what
 * failed (a status other than 200, or no answer), how many were sent and the rate achieved.
 */
async function runLoad(url: string, agent: Agent, rate: number, total: number, maxMs: number) {
  const failures: string[] = [];
  const t0 = Date.now();
  let sent = 0;
  const worker = async (first: number, step: number) => {
    for (let k = first; k < total && Date.now() - t0 < maxMs; k += step) {
      const due = t0 + (k * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      sent++;
      try {
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(url, { agent, timeout: 2000 }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          });
          req.on("timeout", () => req.destroy(new Error("timed out")));
          req.on("error", reject);
          req.end();
        });
        if (status !== 200) failures.push(`request ${k}: HTTP ${status}`);
      } catch (err) {
        failures.push(`request ${k}: ${(err as Error).message}`);
      }
    }
  };
  const workers = 16;
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w, workers)));
  return { failures, sent, rps: sent / ((Date.now() - t0) / 1000) };
}
