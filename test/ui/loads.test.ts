// The Clusters page plots the load each cluster reports over LRS (issue 22): requests sent through a real Envoy,
// which reports them to xdsd's load reporting service (cluster manager `load_stats_config`), show on the cluster's
// plot as requests/s above zero, read from GET /loads (the LRS server, issue 21 item 3).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, screenshot } from "../support/browser.js";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

/** Envoy reports the load of every cluster to the xDS cluster's server (unless the bootstrap already says where). */
function withLoadReports(bootstrap: string): string {
  if (bootstrap.includes("load_stats_config")) return bootstrap;
  return `${bootstrap}
cluster_manager:
  load_stats_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
      - envoy_grpc:
          cluster_name: xds_cluster
`;
}

describe("the Clusters page plots the load Envoy reports", { timeout: 60_000 }, () => {
  let xdsd: XdsdHandle;
  let envoy: EnvoyHandle;
  let web: Upstream;
  let browser: Browser;
  let page: Page;
  let port = 0;

  before(async () => {
    browser = await launchBrowser();
    web = await startUpstream("loads-web");
    port = await freePort();
    xdsd = await startXdsd(
      `clusters:
  - {name: web, endpoints: ["${web.address}:${web.port}"]}
listeners:
  - name: http
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "/", cluster: web}]}]
`,
      // Envoy reports every second rather than every 10 (xdsd serve's default): the test waits seconds, not tens.
      { args: ["--lrs-interval", "1"] },
    );
    const bootstrap = withLoadReports(await bootstrapFor(xdsd, "ads", "loads-envoy", await freePort()));
    envoy = await startEnvoy({ bootstrapYaml: bootstrap, name: "loads-envoy" });
    await envoy.waitReady();
    ({ page } = await openPage(browser));
  });

  after(async () => {
    await browser?.close();
    await envoy?.stop();
    await xdsd?.stop();
    await web?.close();
  });

  it("requests sent through Envoy show on the cluster's plot as requests/s", async () => {
    await page.goto(`${xdsd.adminUrl}/ui/#/clusters`);
    const plot = page.locator('article[data-cluster="web"] .plot');
    // Bounded: at most 600 requests, 40 s.
    const deadline = Date.now() + 40_000;
    let sent = 0;
    let label = "";
    while (Date.now() < deadline && sent < 600) {
      for (let i = 0; i < 20; i++, sent++) assert.equal((await httpGet(`http://127.0.0.1:${port}/`)).status, 200);
      label = (await plot.count()) > 0 ? ((await plot.getAttribute("aria-label")) ?? "") : "";
      const rate = Number(/latest ([\d.]+)/.exec(label)?.[1] ?? 0);
      if (rate > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(
      label,
      /^load of web: requests\/s, errors\/s; latest [1-9]\d*(\.\d)?|latest 0\.[1-9]/,
      `after ${sent} requests the plot says: ${label || "nothing"}`,
    );
    await screenshot(page, "clusters-load");
  });
});
