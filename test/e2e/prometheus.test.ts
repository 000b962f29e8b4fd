// Metrics end to end: the real xdsd command serving a real Envoy 1.40 over ADS, scraped every second by a real
// Prometheus server, everything on loopback; the assertions are queries through Prometheus's HTTP API, so they
// prove what an operator's Prometheus would store, not just what /metrics prints.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { dashboardExpressions, startPrometheus, withDashboardVariables, type PrometheusHandle, type PromSample } from "../support/prometheus.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const config = (endpoint: string, listenerPort: number) => `clusters:
  - name: web
    endpoints: ["${endpoint}"]
listeners:
  - name: listener_0
    address: 127.0.0.1
    port: ${listenerPort}
    virtual_hosts:
      - {name: web, domains: ["*"], routes: [{prefix: "/", cluster: web}]}
`;

let xdsd: XdsdHandle | undefined;
let envoy: EnvoyHandle | undefined;
let prometheus: PrometheusHandle | undefined;
let listenerPort: number;

before(async () => {
  listenerPort = await freePort();
  xdsd = await startXdsd(config("127.0.0.1:9", listenerPort));
  envoy = await startEnvoy({ bootstrapYaml: await bootstrapFor(xdsd, "ads", "node-prometheus", await freePort()), name: "prometheus-e2e" });
  await envoy.waitReady();
  prometheus = await startPrometheus([new URL(xdsd.adminUrl).host]);
});

after(async () => {
  await Promise.allSettled([prometheus?.stop(), envoy?.stop()]);
  await xdsd?.stop();
});

const total = (samples: PromSample[]) => samples.reduce((n, s) => n + s.value, 0);

test("Prometheus scrapes xdsd's /metrics: streams, responses, ACKs, bytes and a publish-to-ACK sample, by the HTTP API", { timeout: 120_000 }, async () => {
  const p = prometheus!;
  await p.waitFor('up{job="xdsd"}', (s) => s.length === 1 && s[0].value === 1, "the xdsd target to be up");
  const streams = await p.waitFor('xdsd_streams{protocol="sotw"}', (s) => total(s) >= 1, "an open state-of-the-world stream");
  assert.deepEqual(
    streams.filter((s) => s.value > 0).map((s) => s.metric.service),
    ["ads"],
    "Envoy's one ADS stream, labelled by protocol and service",
  );
  await p.waitFor("xdsd_connected_proxies", (s) => s[0]?.value === 1, "one connected proxy");
  const responses = await p.waitFor('xdsd_responses_total{protocol="sotw",kind="update"}', (s) => total(s) >= 4, "responses of every type sent");
  assert.deepEqual(
    responses
      .filter((s) => s.value > 0)
      .map((s) => s.metric.type)
      .sort(),
    ["cds", "eds", "lds", "rds"],
  );
  await p.waitFor('xdsd_acks_total{protocol="sotw"}', (s) => total(s) >= 4, "Envoy's ACKs counted");
  await p.waitFor("sum(xdsd_response_bytes_total)", (s) => (s[0]?.value ?? 0) > 0, "bytes sent counted");
  await p.waitFor("process_resident_memory_bytes", (s) => (s[0]?.value ?? 0) > 0, "Node's process metrics");

  // A change of config: Envoy is pushed the new endpoints and ACKs them, which ends a rollout.
  const before = await p.query("xdsd_publish_to_ack_seconds_count");
  assert.equal(total(before), 0, "no publish since Envoy connected yet");
  xdsd!.writeConfig(config("127.0.0.1:10", listenerPort));
  await envoy!.waitFor(async () => /"port_value":10[,}]/.test(JSON.stringify(await envoy!.clusters())), {
    what: "Envoy to have the new endpoint",
    timeoutMs: 15_000,
  });
  await p.waitFor("xdsd_publish_to_ack_seconds_count", (s) => total(s) >= 1, "a publish-to-ACK sample");
  await p.waitFor('xdsd_rollouts_total{result="acked"}', (s) => total(s) === 1, "the rollout counted as acked");
  await p.waitFor('xdsd_config_reloads_total{result="published"}', (s) => total(s) === 2, "the initial load and the change");
  const [sum] = await p.query("xdsd_publish_to_ack_seconds_sum");
  assert.ok(sum.value > 0 && sum.value < 15, `publish to ACK took ${sum.value} s`);
  const { json } = await xdsd!.admin<{ config: { version: string } }>("/config");
  await p.waitFor("xdsd_config_info", (s) => s.length === 1 && s[0].metric.version === json.config.version, "the served config's version");
  assert.equal(total(await p.query('xdsd_nacks_total{protocol="sotw"}')), 0);

  // The example dashboard's expressions are valid PromQL for this Prometheus (query() throws otherwise), and each
  // one over xdsd's own metrics finds data. Node's GC histogram only has series after the first collection, which
  // a daemon this young may not have had.
  const empty: string[] = [];
  for (const expr of dashboardExpressions().exprs) {
    const samples = await p.query(withDashboardVariables(expr));
    if (samples.length === 0 && expr.includes("xdsd_")) empty.push(expr);
  }
  assert.deepEqual(empty, [], "dashboard expressions with no data");
});
