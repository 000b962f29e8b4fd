// The scenario users start from, end to end: real Envoy 1.40, the real xdsd command, four upstreams. Envoy's
// listener routes Host nginx.local to nginx_cluster and httpd.local to httpd_cluster; both are EDS clusters whose
// endpoints come from xdsd. Run in two modes by classic-eds.test.ts and classic-ads.test.ts:
//   eds: Envoy's listener and clusters are static (from `xdsd bootstrap --mode eds`), endpoints over the per-type
//        EndpointDiscoveryService;
//   ads: everything (LDS, RDS, CDS, EDS) over one ADS stream;
//   delta-ads: the same over one incremental (delta) ADS stream (classic-delta-ads.test.ts);
//   xds, delta: everything dynamic, one stream per type, state of the world or incremental (classic-xds.test.ts,
//        classic-delta.test.ts), the config saying `config_source: grpc` / `delta-grpc`;
//   rest: everything dynamic, polled over REST-JSON on HTTP/1.1 (classic-rest.test.ts), `config_source: rest`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

type Mode = "eds" | "ads" | "delta-ads" | "xds" | "delta" | "rest";

interface ScenarioConfig {
  /** The top level's config_source (per-type stream modes). */
  configSource?: string;
  nginx: Upstream[];
  httpd: Upstream[];
  listenerPort: number;
  /** Appended under `resources:` (YAML list items, already indented). */
  rawResources?: string;
  /** Adds extra_cluster with this endpoint. */
  extraCluster?: Upstream;
  /** Adds a virtual host extra.local routing to this cluster. */
  extraHostCluster?: string;
}

const endpointList = (ups: Upstream[]) => `[${ups.map((u) => `"${u.address}:${u.port}"`).join(", ")}]`;

function configText(c: ScenarioConfig): string {
  return `${c.configSource ? `config_source: ${c.configSource}\n` : ""}clusters:
  - name: nginx_cluster
    connect_timeout: 0.25s
    endpoints: ${endpointList(c.nginx)}
  - name: httpd_cluster
    endpoints: ${endpointList(c.httpd)}
${c.extraCluster ? `  - name: extra_cluster\n    endpoints: ${endpointList([c.extraCluster])}\n` : ""}listeners:
  - name: listener_0
    address: 127.0.0.1
    port: ${c.listenerPort}
    virtual_hosts:
      - {name: nginx_service, domains: ["nginx.local"], routes: [{prefix: "/", cluster: nginx_cluster}]}
      - {name: httpd_service, domains: ["httpd.local"], routes: [{prefix: "/", cluster: httpd_cluster}]}
${c.extraHostCluster ? `      - {name: extra_service, domains: ["extra.local"], routes: [{prefix: "/", cluster: ${c.extraHostCluster}}]}\n` : ""}resources:${c.rawResources ? `\n${c.rawResources}` : " []"}
`;
}

/** Tallies `n` requests for `host` into upstream name → count. */
const tally = async (port: number, host: string, n = 20) => Object.fromEntries(await countUpstreams(`http://127.0.0.1:${port}/`, host, n));

export function classicScenario(mode: Mode): void {
  const overAds = mode === "ads" || mode === "delta-ads";
  const dynamic = mode !== "eds";
  describe(`classic two-cluster scenario, ${mode} mode, real Envoy`, () => {
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    let config: ScenarioConfig;
    const upstreams: Upstream[] = [];

    before(async () => {
      for (const name of ["nginx-1", "nginx-2", "nginx-3", "httpd-1", "httpd-2", "extra-1"]) upstreams.push(await startUpstream(name));
      const [n1, n2, , h1, h2] = upstreams;
      config = {
        nginx: [n1, n2],
        httpd: [h1, h2],
        listenerPort: await freePort(),
        configSource: { xds: "grpc", delta: "delta-grpc", rest: "rest" }[mode as string],
      };
      // Debug level: the NACK test counts the responses xdsd logs.
      xdsd = await startXdsd(configText(config), { args: ["--log-level", "debug"] });
      const adminPort = await freePort();
      const bootstrapYaml = await bootstrapFor(xdsd, mode, `node-${mode}`, adminPort);
      envoy = await startEnvoy({ bootstrapYaml, name: `classic-${mode}` });
      await envoy.waitReady();
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop();
      for (const u of upstreams) await u.close();
    });

    it("routes nginx.local only to the nginx upstreams and httpd.local only to the httpd ones, round robin", async () => {
      assert.deepEqual(await tally(config.listenerPort, "nginx.local"), { "nginx-1": 10, "nginx-2": 10 });
      assert.deepEqual(await tally(config.listenerPort, "httpd.local"), { "httpd-1": 10, "httpd-2": 10 });
    });

    it("shows the endpoints from xdsd in Envoy's admin: /clusters, /config_dump and /stats", async () => {
      const clusters = await envoy.clusters();
      const hosts = (name: string) =>
        clusters.cluster_statuses
          .find((c) => c.name === name)
          ?.host_statuses?.map((h) => h.address?.socket_address?.port_value)
          .sort();
      assert.deepEqual(hosts("nginx_cluster"), config.nginx.map((u) => u.port).sort());
      assert.deepEqual(hosts("httpd_cluster"), config.httpd.map((u) => u.port).sort());
      assert.ok((await envoy.stat("cluster.nginx_cluster.update_success"))! >= 1);
      // Only ADS streams feed the control_plane.* stats.
      if (overAds) assert.equal(await envoy.stat("control_plane.connected_state"), 1);
      // Envoy's own view of how it reaches xdsd: REST polls over HTTP/1.1 connections, gRPC over HTTP/2.
      const http1 = (await envoy.stat("cluster.xds_cluster.upstream_cx_http1_total")) ?? 0;
      const http2 = (await envoy.stat("cluster.xds_cluster.upstream_cx_http2_total")) ?? 0;
      if (mode === "rest") assert.ok(http1 >= 1 && http2 === 0, `REST mode: ${http1} HTTP/1.1 and ${http2} HTTP/2 connections to xdsd`);
      else assert.ok(http2 >= 1 && http1 === 0, `${mode} mode: ${http1} HTTP/1.1 and ${http2} HTTP/2 connections to xdsd`);
      const dump = JSON.stringify(await envoy.configDump(dynamic ? "dynamic_active_clusters" : "static_clusters"));
      assert.match(dump, /nginx_cluster/);
      assert.match(dump, /httpd_cluster/);
      type Nodes = { nodes: { node: string; services: Record<string, number>; types: Record<string, { ackedVersion?: string }> }[] };
      const mine = async () => (await xdsd.admin<Nodes>("/nodes")).json.nodes.find((n) => n.node === `cluster.local/node-${mode}`);
      // A REST poller says it took a version only in its next poll (refresh_delay 1 s).
      await envoy.waitFor(async () => (await mine())?.types.eds?.ackedVersion !== undefined, { what: "xdsd to see Envoy ACK the endpoints", timeoutMs: 3000 });
      const me = await mine();
      // The protocol really used, as xdsd saw Envoy's streams: one ADS stream of the mode's kind, or per-type EDS.
      // Without ADS, Envoy 1.40 opens one EDS stream per EDS cluster (two here), and one stream for each other type.
      // (eds mode: the two static clusters' EDS streams only.)
      const perType = (prefix: string) => ({ [`${prefix}cds`]: 1, [`${prefix}eds`]: 2, [`${prefix}lds`]: 1, [`${prefix}rds`]: 1 });
      // REST: one poller per subscription, as xdsd remembers them (rest-poll.ts).
      assert.deepEqual(
        me?.services,
        { eds: { eds: 2 }, ads: { ads: 1 }, "delta-ads": { "delta-ads": 1 }, xds: perType(""), delta: perType("delta-"), rest: perType("rest-") }[mode],
      );
    });

    it("stops sending traffic to a dropped endpoint within 2 s, without restarting Envoy", async () => {
      const pidBefore = envoy.pid;
      config.nginx = [upstreams[0]];
      const t0 = Date.now();
      xdsd.writeConfig(configText(config));
      await envoy.waitFor(async () => (await envoy.clusters()).cluster_statuses.find((c) => c.name === "nginx_cluster")?.host_statuses?.length === 1, {
        what: "nginx_cluster to have 1 host",
        timeoutMs: 2000,
        intervalMs: 20,
      });
      const elapsed = Date.now() - t0;
      assert.ok(elapsed < 2000, `took ${elapsed} ms`);
      assert.deepEqual(await tally(config.listenerPort, "nginx.local", 10), { "nginx-1": 10 });
      assert.equal(envoy.pid, pidBefore);
    });

    it("brings a new endpoint into rotation", async () => {
      config.nginx = [upstreams[0], upstreams[2]];
      xdsd.writeConfig(configText(config));
      await envoy.waitFor(async () => (await tally(config.listenerPort, "nginx.local", 4))["nginx-3"] === 2, {
        what: "nginx-3 to take half the traffic",
        timeoutMs: 2000,
        intervalMs: 20,
      });
      assert.deepEqual(await tally(config.listenerPort, "nginx.local", 10), { "nginx-1": 5, "nginx-3": 5 });
    });

    it("keeps serving the last good config when an edit is invalid", async () => {
      const served = await xdsd.admin<{ config: { version: string } }>("/config");
      const mark = xdsd.log().length;
      xdsd.writeConfig(configText(config).replace("cluster: httpd_cluster}", "cluster: no_such_cluster}"));
      await xdsd.waitForLog(/config .* rejected, still serving version/, 5000, mark);
      assert.match(xdsd.log().slice(mark), /xdsd\.yaml:\d+:\d+ \(listeners\[0\]\.virtual_hosts\[1\]\.routes\[0\]\.cluster\): .*no_such_cluster/);
      const after = await xdsd.admin<{ config: { version: string; lastError?: { message: string } } }>("/config");
      assert.equal(after.json.config.version, served.json.config.version);
      assert.match(after.json.config.lastError?.message ?? "", /no_such_cluster/);
      assert.deepEqual(await tally(config.listenerPort, "httpd.local", 10), { "httpd-1": 5, "httpd-2": 5 });
      // Back to a good config for the tests that follow.
      xdsd.writeConfig(configText(config));
      await xdsd.waitForLog(/config .* published/, 5000, mark);
    });

    if (dynamic) {
      it("records a config Envoy rejects as a NACK, does not resend it, and takes the next good config", async () => {
        const rejectedBefore = (await envoy.stat("cluster_manager.cds.update_rejected")) ?? 0;
        const successBefore = (await envoy.stat("cluster_manager.cds.update_success")) ?? 0;
        // Valid protobuf, so xdsd accepts it; Envoy's own validation requires connect_timeout > 0.
        const badCluster = (timeout: string) => `  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
    name: raw_cluster
    type: STATIC
    connect_timeout: ${timeout}
    load_assignment: {cluster_name: raw_cluster, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${upstreams[5].port}}}}}]}]}`;
        const mark = xdsd.log().length;
        xdsd.writeConfig(configText({ ...config, rawResources: badCluster("0s") }));
        await xdsd.waitForLog(/NACK .* type=cds/, 5000, mark);
        await envoy.waitFor(async () => ((await envoy.stat("cluster_manager.cds.update_rejected")) ?? 0) === rejectedBefore + 1, {
          what: "Envoy to reject the CDS update once",
        });
        const nodes = await xdsd.admin<{ nodes: { node: string; types: Record<string, { nacks: number; lastNack?: { message: string } }> }[] }>("/nodes");
        const cds = nodes.json.nodes.find((n) => n.node === `cluster.local/node-${mode}`)!.types.cds;
        assert.equal(cds.nacks, 1);
        // Envoy's REST client reports no error (rest-poll.ts): xdsd knows the rejection by the version polled.
        assert.match(cds.lastNack!.message, mode === "rest" ? /polled again with version .*: rejected/ : /connect_timeout|Proto constraint validation failed/i);
        // Not resent in a loop: still exactly one rejection a while later.
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(await envoy.stat("cluster_manager.cds.update_rejected"), rejectedBefore + 1);
        assert.equal(
          (
            xdsd
              .log()
              .slice(mark)
              .match(/send .* type=cds/g) ?? []
          ).length,
          1,
        );
        // The next good config is taken.
        xdsd.writeConfig(configText({ ...config, rawResources: badCluster("1s") }));
        await envoy.waitFor(async () => (await envoy.clusters()).cluster_statuses.some((c) => c.name === "raw_cluster"), {
          what: "raw_cluster to become active",
        });
        assert.ok((await envoy.stat("cluster_manager.cds.update_success"))! > successBefore);
        // The ACK of it clears the NACK (a REST poller ACKs in its next poll).
        await envoy.waitFor(
          async () => {
            const after = await xdsd.admin<{ nodes: { node: string; types: Record<string, { lastNack?: unknown }> }[] }>("/nodes");
            return after.json.nodes.find((n) => n.node === `cluster.local/node-${mode}`)!.types.cds.lastNack === undefined;
          },
          { what: "the NACK to be cleared by an ACK", timeoutMs: 3000 },
        );
      });
    }

    if (overAds) {
      it("moves a host to another cluster and removes the old cluster in one edit without a failed request", async () => {
        xdsd.writeConfig(configText({ ...config, extraCluster: upstreams[5], extraHostCluster: "extra_cluster" }));
        await envoy.waitFor(async () => (await tally(config.listenerPort, "extra.local", 2))["extra-1"] === 2, { what: "extra.local to reach extra-1" });
        // Requests run back to back through the switch; the loop is bounded in time and count.
        const failures: string[] = [];
        let sent = 0;
        let switched = false;
        // The edit is made once requests are flowing (20 answered), so that the switch happens under traffic.
        let onFlowing = () => {};
        const flowing = new Promise<void>((resolve) => (onFlowing = resolve));
        const loop = (async () => {
          const deadline = Date.now() + 4000;
          while (Date.now() < deadline && sent < 2000) {
            sent++;
            const counts = await tally(config.listenerPort, "extra.local", 1);
            const [who] = Object.keys(counts);
            if (!who.startsWith("extra-") && !who.startsWith("httpd-")) failures.push(who);
            if (who.startsWith("httpd-")) switched = true;
            if (sent === 20) onFlowing();
            if (switched && sent > 200) break;
          }
        })();
        await Promise.race([flowing, loop]);
        assert.ok(sent >= 20, `only ${sent} requests were answered in the loop's 4 s`);
        xdsd.writeConfig(configText({ ...config, extraHostCluster: "httpd_cluster" }));
        await loop;
        assert.ok(switched, `extra.local never reached httpd_cluster in ${sent} requests`);
        assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed during the switch`);
        await envoy.waitFor(async () => !(await envoy.clusters()).cluster_statuses.some((c) => c.name === "extra_cluster"), {
          what: "extra_cluster to be removed from Envoy",
        });
      });

      it("after xdsd restarts, Envoy reconnects and receives a cluster added afterwards", async () => {
        const port = xdsd.xdsPort;
        assert.equal(await xdsd.stop(), 0, "SIGTERM exits 0");
        assert.match(xdsd.log(), /stream close .* reason="server shutting down"/);
        await envoy.waitFor(async () => (await envoy.stat("control_plane.connected_state")) === 0, { what: "Envoy to see the stream end" });
        xdsd = await startXdsd(configText({ ...config, extraCluster: upstreams[5], extraHostCluster: "extra_cluster" }), { xdsPort: port });
        await envoy.waitFor(async () => (await tally(config.listenerPort, "extra.local", 2))["extra-1"] === 2, {
          what: "extra.local to reach the new cluster",
          timeoutMs: 15_000,
          intervalMs: 200,
        });
        assert.deepEqual(await tally(config.listenerPort, "httpd.local", 4), { "httpd-1": 2, "httpd-2": 2 });
      });
    }
  });
}
