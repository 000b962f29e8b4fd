// Proves the real-Envoy harness itself, with no control plane involved: a purely static bootstrap routes to two
// local upstreams, and every admin reader the xDS tests rely on is checked against what Envoy 1.40 really prints.
// If this file fails, the e2e failures elsewhere are about the harness, not about xdsd.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams, httpGet } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";

const CLUSTER = "static_backends";
const LISTENER = "static_ingress";
const DOMAIN = "static.local";

const ROUTER_FILTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};

const HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

const socketAddress = (port: number) => ({ socket_address: { address: "127.0.0.1", port_value: port } });

/** Bootstraps are built as objects and serialized, so indentation mistakes cannot produce a different config. */
function staticBootstrap(listenerPort: number, upstreams: Upstream[], httpFilters: object[] = [ROUTER_FILTER]): string {
  return stringify({
    node: { id: "harness-test", cluster: "harness" },
    // Port 0: the harness learns the bound port through --admin-address-path, so parallel files cannot collide.
    admin: { address: socketAddress(0) },
    static_resources: {
      clusters: [
        {
          name: CLUSTER,
          type: "STATIC",
          lb_policy: "ROUND_ROBIN",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: CLUSTER,
            endpoints: [{ lb_endpoints: upstreams.map((u) => ({ endpoint: { address: socketAddress(u.port) } })) }],
          },
        },
      ],
      listeners: [
        {
          name: LISTENER,
          address: socketAddress(listenerPort),
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": HCM_TYPE,
                    stat_prefix: "ingress",
                    route_config: {
                      name: "static_routes",
                      virtual_hosts: [
                        {
                          name: "static",
                          domains: [DOMAIN],
                          routes: [{ match: { prefix: "/" }, route: { cluster: CLUSTER } }],
                        },
                      ],
                    },
                    http_filters: httpFilters,
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  });
}

describe("real Envoy harness, static bootstrap", () => {
  let upstreams: Upstream[] = [];
  let envoy: EnvoyHandle | undefined;
  let listenerUrl = "";

  before(async () => {
    upstreams = await Promise.all([startUpstream("alpha"), startUpstream("beta")]);
    const listenerPort = await freePort();
    listenerUrl = `http://127.0.0.1:${listenerPort}/`;
    const bootstrapYaml = staticBootstrap(listenerPort, upstreams);
    envoy = await startEnvoy({ bootstrapYaml, name: "static", waitFor: "ready" });
  });

  after(async () => {
    await envoy?.stop();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  const running = (): EnvoyHandle => {
    assert.ok(envoy, "Envoy did not start (see the before() hook failure)");
    return envoy;
  };

  it("round-robins requests for Host static.local across both upstreams", async () => {
    const counts = await countUpstreams(listenerUrl, DOMAIN, 20);
    const answers = JSON.stringify([...counts]);
    assert.deepEqual([...counts.keys()].sort(), ["alpha", "beta"], `unexpected answers: ${answers}`);
    // One worker and plain round robin alternate strictly.
    assert.equal(counts.get("alpha"), 10);
    assert.equal(counts.get("beta"), 10);
  });

  it("routes by the Host header: an unknown domain gets Envoy's 404", async () => {
    const res = await httpGet(listenerUrl, { host: "other.local" });
    assert.equal(res.status, 404);
    assert.equal(res.headers["x-upstream"], undefined);
  });

  it("/clusters lists both STATIC hosts", async () => {
    const { cluster_statuses } = await running().clusters();
    const cluster = cluster_statuses.find((c) => c.name === CLUSTER);
    assert.ok(cluster, `no ${CLUSTER} in ${cluster_statuses.map((c) => c.name).join(", ")}`);
    const ports = cluster.host_statuses.map((h) => h.address?.socket_address?.port_value).sort();
    assert.deepEqual(ports, upstreams.map((u) => u.port).sort());
  });

  it("reads stats, counters as numbers and text readouts as strings", async () => {
    const active = await running().stat("cluster_manager.active_clusters");
    assert.ok(active !== undefined && active >= 1, `cluster_manager.active_clusters = ${active}`);
    const byFilter = await running().stats("^cluster_manager\\.");
    assert.equal(byFilter.get("cluster_manager.active_clusters"), active);
    assert.ok([...byFilter.keys()].every((name) => name.startsWith("cluster_manager.")));
    // The 20 routed requests above went through the cluster; its upstream counter says so.
    const requests = await running().stat(`cluster.${CLUSTER}.upstream_rq_total`);
    assert.ok(requests !== undefined && requests >= 20, `upstream_rq_total = ${requests}`);
    assert.equal(await running().stat("no.such.stat"), undefined);
    // Text readouts (e.g. cluster_manager.cds.version_text) only exist with dynamic resources; here we can only
    // check that asking for a number as text is caught rather than silently coerced.
    await assert.rejects(running().textStat("cluster_manager.active_clusters"), /is a counter or gauge/);
  });

  it("config_dump has the static listener", async () => {
    const dump = await running().configDump("static_listeners");
    const names = dump.configs.map((entry) => (entry.listener as { name?: string } | undefined)?.name);
    assert.deepEqual(names, [LISTENER]);
    // Envoy omits empty lists; the harness hands back an empty array rather than undefined.
    assert.deepEqual((await running().configDump("dynamic_listeners")).configs, []);
  });

  it("/listeners reports the bound address", async () => {
    const { listener_statuses } = await running().listeners();
    const port = Number(new URL(listenerUrl).port);
    assert.deepEqual(
      listener_statuses.map((l) => [l.name, l.local_address?.socket_address?.port_value]),
      [[LISTENER, port]],
    );
  });

  it("waitFor fails with what it waited for and Envoy's log tail", async () => {
    await assert.rejects(
      running().waitFor(() => false, { what: "a condition that never holds", timeoutMs: 200 }),
      (err: Error) => {
        assert.match(err.message, /timed out after 200 ms waiting for a condition that never holds/);
        assert.match(err.message, /the check last returned false/);
        assert.match(err.message, /--- last lines of .*envoy\.log ---/);
        return true;
      },
    );
  });
});

describe("real Envoy harness, failures", () => {
  it("a rejected bootstrap fails startEnvoy fast with Envoy's own error", async () => {
    const port = await freePort();
    // Since 1.39 a filter is looked up by its typed_config type URL only, so a name-only router is rejected.
    const nameOnlyRouter = { name: "envoy.filters.http.router" };
    const started = Date.now();
    await assert.rejects(startEnvoy({ bootstrapYaml: staticBootstrap(port, [], [nameOnlyRouter]), name: "bad-bootstrap" }), (err: Error) => {
      assert.match(err.message, /exited with code 1/);
      assert.match(err.message, /Didn't find a registered implementation/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, "startEnvoy should notice the exit, not wait for its timeout");
  });

  it("stop() is idempotent and the process is gone afterwards", async () => {
    const envoy = await startEnvoy({ bootstrapYaml: staticBootstrap(await freePort(), []), name: "stop-twice" });
    await Promise.all([envoy.stop(), envoy.stop()]);
    await envoy.stop();
    assert.throws(() => process.kill(envoy.pid, 0), { code: "ESRCH" });
  });
});
