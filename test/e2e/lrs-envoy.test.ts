// Load reports (LRS) from a real Envoy 1.40 (`xdsd bootstrap --lrs`: cluster manager load_stats_config on the
// xds_cluster): a known number of requests through Envoy to a cluster of two backends in two localities, one of
// which answers 503, and GET /loads sums exactly what was sent — issued, succeeded, errored, per cluster, locality
// and endpoint — once Envoy's reports (every second here: --lrs-interval 1) have come in.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";
import type { LoadsView } from "../../src/server/load-reports.js";

/** A backend that answers every request with `status`. */
async function backend(status: number): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(String(status));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("LRS: a real Envoy's load reports, summed exactly in GET /loads", () => {
  let xdsd: XdsdHandle;
  let envoy: EnvoyHandle;
  let ok: { server: Server; port: number };
  let failing: { server: Server; port: number };
  let port = 0;

  before(async () => {
    ok = await backend(200);
    failing = await backend(503);
    port = await freePort();
    xdsd = await startXdsd(
      `clusters:
  - name: web
    endpoints:
      - {address: 127.0.0.1, port: ${ok.port}, locality: {region: eu, zone: a}}
      - {address: 127.0.0.1, port: ${failing.port}, locality: {region: eu, zone: b}}
listeners:
  - name: http
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "/", cluster: web}]}]
`,
      { args: ["--lrs-interval", "1"] },
    );
    const boot = await runXdsd([
      "bootstrap",
      ...["--config", xdsd.configPath, "--mode", "ads", "--lrs", "--node-id", "lrs-envoy", "--node-cluster", "cluster.local"],
      ...["--xds", `127.0.0.1:${xdsd.xdsPort}`, "--admin-port", String(await freePort())],
    ]);
    assert.equal(boot.code, 0, boot.stderr);
    assert.match(boot.stdout, /load_stats_config:/);
    envoy = await startEnvoy({ bootstrapYaml: boot.stdout, name: "lrs-envoy" });
    await envoy.waitReady();
  });

  after(async () => {
    await envoy?.stop();
    await xdsd?.stop();
    for (const b of [ok, failing]) {
      if (!b) continue;
      b.server.closeAllConnections();
      await new Promise((r) => b.server.close(r));
    }
  });

  it("counts 40 requests, the 503s as errors, per cluster, locality and endpoint", async () => {
    // Envoy starts counting a cluster's load when xdsd's LRS response reaches it (it latches the hosts' counters
    // then): a request already under way at that moment is reported half (its success, not its issue). So the
    // requests go once a first report has come in.
    await envoy.waitFor(async () => (await xdsd.admin<LoadsView>("/loads")).json.reporters > 0, { what: "Envoy's first load report" });
    const sent = 40;
    const seen = new Map<number, number>();
    for (let i = 0; i < sent; i++) {
      const r = await httpGet(`http://127.0.0.1:${port}/`);
      seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
    }
    const succeeded = seen.get(200) ?? 0;
    const errored = seen.get(503) ?? 0;
    assert.equal(succeeded + errored, sent, `every request answered by a backend: ${JSON.stringify([...seen])}`);
    assert.ok(errored > 0 && succeeded > 0, `both backends were used: ${JSON.stringify([...seen])}`);
    const web = await envoy.waitFor(
      async () => {
        const { json } = await xdsd.admin<LoadsView>("/loads");
        const c = json.clusters.find((x) => x.cluster === "web");
        if (!c || c.requests.issued < sent || c.requests.in_progress > 0) throw new Error(`not all reported yet: ${JSON.stringify(c)}`);
        return c;
      },
      { what: "GET /loads to count every request", timeoutMs: 15_000 },
    );
    assert.deepEqual(web.requests, { issued: sent, succeeded, errored, in_progress: 0 });
    assert.equal(web.dropped, 0);
    const zone = (z: string) => web.localities.find((l) => l.zone === z);
    assert.deepEqual(
      web.localities.map((l) => [l.region, l.zone, l.issued, l.succeeded, l.errored]),
      [
        ["eu", "a", succeeded, succeeded, 0],
        ["eu", "b", errored, 0, errored],
      ],
    );
    // Envoy reports per endpoint, as xdsd's response asks (report_endpoint_granularity).
    assert.deepEqual(zone("a")?.endpoints, [{ address: `127.0.0.1:${ok.port}`, issued: succeeded, succeeded, errored: 0, in_progress: 0 }]);
    assert.deepEqual(zone("b")?.endpoints, [{ address: `127.0.0.1:${failing.port}`, issued: errored, succeeded: 0, errored, in_progress: 0 }]);
    // The metrics count the same, per cluster.
    const metrics = (await httpGet(`${xdsd.adminUrl}/metrics`)).body;
    assert.match(metrics, new RegExp(`^xdsd_load_requests_issued_total\\{cluster="web"\\} ${sent}$`, "m"));
    assert.match(metrics, new RegExp(`^xdsd_load_requests_errored_total\\{cluster="web"\\} ${errored}$`, "m"));
  });
});
