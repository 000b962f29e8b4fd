// The write API with a real Envoy 1.40 over ADS: an endpoint registered through the API gets traffic within 1 s,
// marked DRAINING it gets no new requests, and deregistered it leaves Envoy's /clusters.
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const token = "e2e-token-0123456789abcdef";

describe("write API, real Envoy", () => {
  let xdsd: XdsdHandle;
  let envoy: EnvoyHandle;
  const upstreams: Upstream[] = [];
  let port = 0;

  const api = (method: string, path: string, body?: unknown) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${xdsd.adminUrl}${path}`,
        { method, agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? "" : JSON.stringify(body));
    });
  const hostsOf = async (cluster: string) =>
    (await envoy.clusters()).cluster_statuses.find((c) => c.name === cluster)?.host_statuses?.map((h) => h.address?.socket_address?.port_value) ?? [];

  before(async () => {
    upstreams.push(await startUpstream("web-1"), await startUpstream("web-2"));
    port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "xdsd-api-e2e-"));
    writeFileSync(join(dir, "token"), token);
    const config = `clusters:
  - name: web
    endpoints: ["${upstreams[0].address}:${upstreams[0].port}"]
listeners:
  - name: l
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;
    xdsd = await startXdsd(config, { args: ["--admin-token-file", join(dir, "token")] });
    envoy = await startEnvoy({ bootstrapYaml: await bootstrapFor(xdsd, "ads", "api-node", await freePort()), name: "write-api" });
    await envoy.waitReady();
  });
  after(async () => {
    await envoy?.stop();
    await xdsd?.stop();
    for (const u of upstreams) await u.close();
  });

  const tally = async (n: number) => Object.fromEntries(await countUpstreams(`http://127.0.0.1:${port}/`, "web.local", n));

  it("an endpoint registered through the API gets traffic within 1 s", async () => {
    assert.deepEqual(await tally(4), { "web-1": 4 });
    const t0 = Date.now();
    assert.equal(await api("PUT", `/v1/clusters/web/endpoints/${upstreams[1].address}:${upstreams[1].port}`, {}), 201);
    await envoy.waitFor(async () => (await tally(2))["web-2"] !== undefined, { what: "web-2 to get traffic", timeoutMs: 1000, intervalMs: 20 });
    assert.ok(Date.now() - t0 <= 1000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(await tally(10), { "web-1": 5, "web-2": 5 });
  });

  it("DRAINING: no new requests go to it, and Envoy shows it draining", async () => {
    assert.equal(await api("PUT", `/v1/clusters/web/endpoints/${upstreams[1].address}:${upstreams[1].port}`, { health_status: "DRAINING" }), 200);
    await envoy.waitFor(async () => (await tally(4))["web-2"] === undefined, { what: "web-2 to stop getting new requests", timeoutMs: 2000, intervalMs: 20 });
    assert.deepEqual(await tally(10), { "web-1": 10 });
    const clusters = JSON.stringify(await envoy.clusters());
    assert.match(clusters, /"eds_health_status":"DRAINING"/);
  });

  it("deregistered, it leaves Envoy's /clusters", async () => {
    assert.equal(await api("DELETE", `/v1/clusters/web/endpoints/${upstreams[1].address}:${upstreams[1].port}`), 200);
    await envoy.waitFor(async () => (await hostsOf("web")).length === 1, { what: "web to have one host", timeoutMs: 2000, intervalMs: 20 });
    assert.deepEqual(await hostsOf("web"), [upstreams[0].port]);
  });
});
