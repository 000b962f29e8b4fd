// GET /metrics of the real daemon after traffic on every protocol (a state-of-the-world ADS stream that ACKs, NACKs
// and asks for a type nobody serves, a delta stream, a REST poller) and a config change: the rollouts end as the
// clients answer; `promtool check metrics` (Prometheus's own linter) accepts the output; docs/metrics.md lists
// exactly the metrics served; and every expression of the example Grafana dashboard names metrics that exist.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { httpGet } from "../support/http.js";
import { repoRoot } from "../support/processes.js";
import { dashboardExpressions, promtoolCheckMetrics } from "../support/prometheus.js";
import { node } from "../support/resources.js";
import { poll } from "../support/rest-client.js";
import { RawDeltaClient, RawXdsClient } from "../support/xds-client.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const config = (endpoint: string) => `clusters: [{name: a, endpoints: ["${endpoint}"]}]\n`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (format 0.0.4). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

let xdsd: XdsdHandle;
let address: string;
const clients: { close(): void }[] = [];

async function scrape(): Promise<{ text: string; contentType: string | undefined; samples: Sample[] }> {
  const res = await httpGet(`${xdsd.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  return { text: res.body, contentType: res.headers["content-type"], samples: parseExposition(res.body) };
}

/** Scrapes until `accept` holds (at most `timeoutMs`): rollouts end on the daemon's own time. */
async function scrapeUntil(accept: (samples: Sample[]) => boolean, what: string, timeoutMs = 5000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { samples } = await scrape();
    if (accept(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`/metrics did not show ${what} within ${timeoutMs} ms:\n${(await scrape()).text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  xdsd = await startXdsd(config("127.0.0.1:8080"));
  address = `127.0.0.1:${xdsd.xdsPort}`;
});

after(async () => {
  for (const c of clients) c.close();
  await xdsd?.stop();
});

test("traffic on every protocol and a config change, as /metrics counts them; rollouts end when their clients have answered", { timeout: 60_000 }, async () => {
  const sotw = new RawXdsClient(address);
  const delta = new RawDeltaClient(address);
  clients.push(sotw, delta);
  sotw.send({ node: node("m-sotw"), typeUrl: CDS });
  sotw.ack(await sotw.next());
  sotw.send({ typeUrl: EDS, resourceNames: ["a"] });
  const rejected = await sotw.next();
  sotw.send({
    typeUrl: EDS,
    responseNonce: rejected.nonce,
    resourceNames: ["a"],
    errorDetail: create(StatusSchema, { code: 13, message: "rejected on purpose" }),
  });
  sotw.send({ typeUrl: "type.googleapis.com/made.up.Thing" });
  delta.send({ node: node("m-delta"), typeUrl: CDS });
  delta.ack(await delta.next());
  const polled = await poll(address, "/v3/discovery:clusters", { node: node("m-rest") });
  assert.equal(polled.status, 200);
  assert.equal((await poll(address, "/v3/discovery:clusters", { node: node("m-rest"), versionInfo: polled.response!.versionInfo })).status, 304);

  let samples = await scrapeUntil((s) => value(s, "xdsd_ignored_requests_total") >= 1, "the ignored request");
  assert.equal(value(samples, "xdsd_connected_proxies"), 3);
  assert.equal(value(samples, "xdsd_streams", { protocol: "sotw", service: "ads" }), 1);
  assert.equal(value(samples, "xdsd_streams", { protocol: "delta", service: "ads" }), 1);
  assert.equal(value(samples, "xdsd_streams", { protocol: "rest", service: "cds" }), 1);
  assert.equal(value(samples, "xdsd_acks_total", { protocol: "sotw", type: "cds" }), 1);
  assert.equal(value(samples, "xdsd_nacks_total", { protocol: "sotw", type: "eds" }), 1);
  assert.equal(value(samples, "xdsd_acks_total", { protocol: "delta", type: "cds" }), 1);
  assert.equal(value(samples, "xdsd_acks_total", { protocol: "rest", type: "cds" }), 1);
  assert.equal(value(samples, "xdsd_ignored_requests_total", { protocol: "sotw", type: "unknown" }), 1);
  assert.equal(value(samples, "xdsd_responses_total", { protocol: "sotw", kind: "update" }), 2);
  // The REST 200's size is its JSON body, exactly.
  assert.equal(value(samples, "xdsd_response_bytes_total", { protocol: "rest", type: "cds" }), Buffer.byteLength(polled.text));

  // A new endpoint: the SotW stream is sent EDS and ACKs it; the delta stream (CDS only) needs nothing; the REST
  // poller polls CDS, which the change leaves as it was: it holds the new snapshot's version already, and is not
  // waited for (issue 18 item 2) — three rollouts, each acked.
  const logged = xdsd.log().length;
  xdsd.writeConfig(config("127.0.0.1:8081"));
  await xdsd.waitForLog(/published/, 5000, logged);
  const pushed = await sotw.next();
  assert.equal(pushed.typeUrl, EDS);
  sotw.ack(pushed, ["a"]);
  samples = await scrapeUntil((s) => value(s, "xdsd_rollouts_total", { result: "acked" }) === 3, "three rollouts acked");
  assert.equal(value(samples, "xdsd_rollouts_in_progress"), 0);
  assert.equal(value(samples, "xdsd_publish_to_ack_seconds_count"), 3);
  assert.equal(value(samples, "xdsd_config_reloads_total", { result: "published" }), 2);

  const again = await poll(address, "/v3/discovery:clusters", { node: node("m-rest"), versionInfo: polled.response!.versionInfo });
  // The poller is current: 304, and nothing more to settle.
  assert.equal(again.status, 304);
  samples = await scrapeUntil((s) => value(s, "xdsd_rollouts_in_progress") === 0, "no rollout in progress");
  assert.equal(value(samples, "xdsd_rollouts_total", { result: "acked" }), 3);

  // An invalid change is rejected and shown as such.
  xdsd.writeConfig("clusters: [{name: a, endpoints: [nonsense]}]\n");
  samples = await scrapeUntil((s) => value(s, "xdsd_config_reloads_total", { result: "rejected" }) === 1, "the rejected reload");
  assert.equal(value(samples, "xdsd_config_last_reload_successful"), 0);
});

test("promtool check metrics accepts the daemon's /metrics, served with the registry's content type", async () => {
  const { text, contentType } = await scrape();
  assert.equal(contentType, "text/plain; version=0.0.4; charset=utf-8");
  assert.match(text, /^xdsd_streams\{protocol="sotw",service="ads"\} \d+$/m, "the test above left traffic to lint");
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  const { code, output } = promtoolCheckMetrics(text);
  assert.equal(output, "", "promtool has no complaint");
  assert.equal(code, 0);
});

/** The metric families of an exposition: `# TYPE` lines. */
const families = (text: string) => new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));

test("docs/metrics.md's tables list every xdsd metric served, and no other", async () => {
  const served = [...families((await scrape()).text).keys()].filter((n) => n.startsWith("xdsd_")).sort();
  const docs = readFileSync(join(repoRoot(), "docs", "metrics.md"), "utf8");
  // The first cell of each table row names a metric.
  const documented = [...docs.matchAll(/^\| `(xdsd_[a-z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, served);
});

test("the store's state in /healthz and /metrics: a daemon alone on SQLite answers, leads, and says the revision it applied", async () => {
  const health = JSON.parse((await httpGet(`${xdsd.adminUrl}/healthz`)).body) as {
    status: string;
    store: { kind: string; state: string; revision: number; leader: boolean };
  };
  assert.equal(health.status, "ok");
  assert.deepEqual({ ...health.store, revision: typeof health.store.revision }, { kind: "sqlite", state: "ok", revision: "number", leader: true });
  const { samples } = await scrape();
  assert.equal(value(samples, "xdsd_store_up", { store: "sqlite" }), 1);
  assert.equal(value(samples, "xdsd_leader"), 1);
  assert.equal(value(samples, "xdsd_store_revision"), health.store.revision);
});

test("every expression of examples/grafana-dashboard.json names metrics /metrics serves", async () => {
  const { text } = await scrape();
  const names = new Set(parseExposition(text).map((s) => s.name));
  for (const [family, type] of families(text)) if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(family + s);
  const { dashboard, exprs } = dashboardExpressions();
  assert.equal(typeof dashboard.title, "string");
  assert.equal(typeof dashboard.uid, "string");
  assert.equal(typeof dashboard.schemaVersion, "number");
  assert.ok(Array.isArray(dashboard.panels) && dashboard.panels.length > 0);
  assert.ok(exprs.length >= 8, `only ${exprs.length} expressions`);
  for (const expr of exprs) {
    const used = [...expr.matchAll(/\b((?:xdsd|process|nodejs)_[a-zA-Z0-9_]+)/g)].map((m) => m[1]);
    assert.ok(used.length > 0, `${expr} names no xdsd, process or nodejs metric`);
    for (const name of used) assert.ok(names.has(name), `${expr} names ${name}, which /metrics does not serve`);
  }
});
