// On-demand discovery end to end: a real Envoy 1.40 on incremental ADS (`xdsd bootstrap --mode delta-ads`), the
// real xdsd command, real HTTP upstreams. One listener, route configuration od_routes:
//   - inline.local: an inline virtual host, to eager_cluster;
//   - shop.local, *.shop.local: an on-demand virtual host (VHDS), the VirtualHost od_routes/shop, to vhds_cluster;
//     docs.local and *.blog.local likewise (od_routes/docs.local, od_routes/blog);
//   - lazy.local: an inline virtual host to lazy_cluster, a cluster served on demand (on-demand CDS).
// What Envoy asks for is read from xdsd's debug log, which has a line per request (`recv … subscribe=[…]`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

interface Ups {
  eager: Upstream;
  vhds: Upstream;
  lazy: Upstream;
  late: Upstream;
}

function configText(u: Ups, listenerPort: number, opts: { shopCluster?: string; late?: boolean } = {}): string {
  const ep = (x: Upstream) => `["${x.address}:${x.port}"]`;
  return `clusters:
  - {name: eager_cluster, endpoints: ${ep(u.eager)}}
  - {name: vhds_cluster, endpoints: ${ep(u.vhds)}}
  - {name: lazy_cluster, on_demand: true, endpoints: ${ep(u.lazy)}}
${opts.late ? `  - {name: late_cluster, endpoints: ${ep(u.late)}}\n` : ""}listeners:
  - name: od_listener
    address: 127.0.0.1
    port: ${listenerPort}
    route_config_name: od_routes
    virtual_hosts:
      - {name: inline, domains: ["inline.local"], routes: [{prefix: /, cluster: eager_cluster}]}
      - {name: lazy, domains: ["lazy.local"], routes: [{prefix: /, cluster: lazy_cluster}]}
      - {name: shop, on_demand: true, domains: ["shop.local", "*.shop.local"], routes: [{prefix: /, cluster: ${opts.shopCluster ?? "vhds_cluster"}}]}
      - {name: docs.local, on_demand: true, domains: ["docs.local"], routes: [{prefix: /, cluster: vhds_cluster}]}
      - {name: blog, on_demand: true, domains: ["*.blog.local"], routes: [{prefix: /, cluster: vhds_cluster}]}
${opts.late ? `      - {name: late, domains: ["late.local"], routes: [{prefix: /, cluster: late_cluster}]}\n` : ""}`;
}

let xdsd: XdsdHandle;
let envoy: EnvoyHandle;
let ups: Ups;
let listenerPort: number;
let readyMs: number;
const get = (host: string, timeoutMs = 5000) => httpGet(`http://127.0.0.1:${listenerPort}/`, { host, timeoutMs });
const clusterNames = async () => (await envoy.clusters()).cluster_statuses.map((c) => c.name).sort();
const routeConfigDump = async () => JSON.stringify(await envoy.configDump("dynamic_route_configs"));
const vhdsStat = (name: string) => envoy.stat(`http.od_listener.rds.vhds.od_routes.${name}`);

before(async () => {
  ups = {
    eager: await startUpstream("eager-1"),
    vhds: await startUpstream("vhds-1"),
    lazy: await startUpstream("lazy-1"),
    late: await startUpstream("late-1"),
  };
  listenerPort = await freePort();
  xdsd = await startXdsd(configText(ups, listenerPort), { args: ["--log-level", "debug"] });
  const bootstrapYaml = await bootstrapFor(xdsd, "delta-ads", "node-on-demand", await freePort());
  const t0 = Date.now();
  envoy = await startEnvoy({ bootstrapYaml, name: "on-demand" });
  await envoy.waitReady();
  readyMs = Date.now() - t0;
});

after(async () => {
  await envoy?.stop();
  await xdsd?.stop();
  for (const u of Object.values(ups ?? {})) await u.close();
});

describe("VHDS: virtual hosts on demand, real Envoy over delta ADS", () => {
  it("starts without waiting for VHDS: its empty first request is answered, the namespace opened", async () => {
    // Unanswered, Envoy 1.40 holds the route configuration (and the listener) until init_fetch_timeout, 15 s.
    assert.ok(readyMs < 10_000, `Envoy took ${readyMs} ms to be ready`);
    assert.equal(await vhdsStat("init_fetch_timeout"), 0);
    const log = xdsd.log();
    assert.match(log, /recv .* type=vhds nonce=- subscribe=\[\] unsubscribe=\[\]/, "Envoy's first VirtualHost request names nothing");
    assert.match(log, /send .* type=vhds .* resources=0 removed=1/, "answered with the removal of od_routes/ only");
    assert.doesNotMatch(await routeConfigDump(), /od_routes\/shop/, "no virtual host is sent before a request needs it");
    assert.equal((await get("inline.local")).body, "eager-1");
  });

  it("fetches the virtual host when a request's Host needs it: the request reaches its upstream", async () => {
    const mark = xdsd.log().length;
    const res = await get("shop.local");
    assert.deepEqual([res.status, res.body], [200, "vhds-1"]);
    const log = xdsd.log().slice(mark);
    assert.match(log, /recv .* type=vhds nonce=- subscribe=\["od_routes\/shop\.local"\] unsubscribe=\[\]/, "asked for <route config>/<host>");
    assert.match(log, /send .* type=vhds .* resources=1 .*aliases=\["od_routes\/shop\.local->od_routes\/shop"\]/, "answered by domain, with the alias");
    const dump = JSON.parse(await routeConfigDump()) as { configs: { route_config: { name: string; virtual_hosts: { name: string; domains: string[] }[] } }[] };
    const rc = dump.configs.find((c) => c.route_config.name === "od_routes")!.route_config;
    assert.deepEqual(
      rc.virtual_hosts.map((v) => v.name).sort(),
      ["inline", "lazy", "od_routes/shop"],
      "/config_dump: the fetched virtual host beside the inline ones",
    );
    assert.deepEqual(rc.virtual_hosts.find((v) => v.name === "od_routes/shop")!.domains, ["shop.local", "*.shop.local"]);
    assert.ok((await vhdsStat("config_reload"))! >= 1, "vhds config_reload");
    assert.ok((await vhdsStat("update_success"))! >= 2, "vhds update_success: the opening and the fetch");
    assert.ok((await envoy.stat("control_plane.connected_state")) === 1);
  });

  it("serves another host of a fetched virtual host from Envoy's own copy: no second request", async () => {
    const mark = xdsd.log().length;
    const res = await get("api.shop.local");
    assert.deepEqual([res.status, res.body], [200, "vhds-1"]);
    assert.doesNotMatch(xdsd.log().slice(mark), /type=vhds/);
  });

  it("sends a virtual host named <route config>/<host> as it is, and finds one by a wildcard domain", async () => {
    let mark = xdsd.log().length;
    assert.deepEqual((await get("docs.local")).body, "vhds-1");
    let log = xdsd.log().slice(mark);
    assert.match(log, /recv .* type=vhds .*subscribe=\["od_routes\/docs\.local"\]/);
    assert.match(log, /send .* type=vhds .* resources=1 removed=0\n/, "its own name: no alias");
    mark = xdsd.log().length;
    assert.deepEqual((await get("www.blog.local")).body, "vhds-1");
    log = xdsd.log().slice(mark);
    assert.match(log, /aliases=\["od_routes\/www\.blog\.local->od_routes\/blog"\]/);
  });

  it("answers a host no virtual host matches at once: Envoy replies 404 instead of waiting", async () => {
    const mark = xdsd.log().length;
    const t0 = Date.now();
    const res = await get("nope.local");
    assert.equal(res.status, 404);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.match(xdsd.log().slice(mark), /send .* type=vhds .* resources=0 .*unresolved=\["od_routes\/nope\.local"\]/);
  });

  it("keeps a fetched virtual host up to date when the config changes it", async () => {
    xdsd.writeConfig(configText(ups, listenerPort, { shopCluster: "eager_cluster" }));
    await envoy.waitFor(async () => (await get("shop.local")).body === "eager-1", { what: "shop.local to reach eager-1" });
    xdsd.writeConfig(configText(ups, listenerPort));
    await envoy.waitFor(async () => (await get("shop.local")).body === "vhds-1", { what: "shop.local back on vhds-1" });
  });
});

describe("on-demand CDS: a cluster fetched when a route first needs it, real Envoy over delta ADS", () => {
  it("is not among Envoy's clusters before a request needs it", async () => {
    const names = await clusterNames();
    assert.ok(names.includes("eager_cluster") && names.includes("vhds_cluster"), names.join(","));
    assert.ok(!names.includes("lazy_cluster"), `lazy_cluster is already there: ${names.join(",")}`);
    assert.doesNotMatch(JSON.stringify(await envoy.configDump("dynamic_active_clusters")), /lazy_cluster/);
    assert.doesNotMatch(xdsd.log(), /type=cds .*subscribe=\["lazy_cluster"\]/);
  });

  it("is fetched by name on the first request, which gets a 200 from its upstream", async () => {
    const mark = xdsd.log().length;
    const res = await get("lazy.local");
    assert.deepEqual([res.status, res.body], [200, "lazy-1"]);
    const log = xdsd.log().slice(mark);
    // On the CDS sub-stream that began as the legacy wildcard, by name, with no "*".
    assert.match(log, /recv .* type=cds nonce=- subscribe=\["lazy_cluster"\] unsubscribe=\[\]/);
    assert.match(log, /send .* type=cds .* resources=1/);
    assert.match(log, /recv .* type=eds .*subscribe=\["lazy_cluster"\]/, "then its endpoints, as for any EDS cluster");
    const lazy = (await envoy.clusters()).cluster_statuses.find((c) => c.name === "lazy_cluster");
    assert.deepEqual(
      lazy?.host_statuses?.map((h) => h.address?.socket_address?.port_value),
      [ups.lazy.port],
    );
    assert.match(JSON.stringify(await envoy.configDump("dynamic_active_clusters")), /"on_demand":true/, "the mark shows in /config_dump");
    assert.ok((await envoy.stat("cluster_manager.odcds.update_success"))! >= 1, "odcds update_success");
    assert.deepEqual((await get("lazy.local")).body, "lazy-1", "and stays");
  });

  it("leaves the wildcard in place: a cluster added to the config afterwards still reaches Envoy", async () => {
    xdsd.writeConfig(configText(ups, listenerPort, { late: true }));
    await envoy.waitFor(async () => (await get("late.local")).body === "late-1", { what: "late.local to reach late-1" });
    const names = await clusterNames();
    assert.ok(names.includes("late_cluster") && names.includes("lazy_cluster"), names.join(","));
  });
});
