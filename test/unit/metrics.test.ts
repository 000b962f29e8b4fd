// The metrics listener (daemon/metrics.ts) fed fake server events: what each metric counts, which labels
// it uses, and the publish-to-ACK rollouts — when one ends, how, and what the histogram observes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { NodeSchema } from "../../src/gen/envoy/config/core/v3/base_pb.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import type { ConfigState } from "../../src/daemon/reloader.js";
import type { StreamInfo } from "../../src/server/observers/events.js";
import { XdsdMetrics } from "../../src/daemon/metrics.js";
import { serviceLabel, serviceOfLabel } from "../../src/server/service-label.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { edsCluster, endpoints } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

/** The metrics with a fake clock, push queue and sweep timer, and helpers that play a server's events. */
function harness(options: { config?: () => ConfigState | undefined } = {}) {
  const cache = new SnapshotCache();
  let now = 1000;
  let pending = 0;
  /** The sweeps scheduled and not fired yet: they run at `settle()`, never on the clock. */
  const timers = new Set<() => void>();
  const schedule = (run: () => void) => {
    timers.add(run);
    return () => void timers.delete(run);
  };
  const metrics = new XdsdMetrics({ cache, processMetrics: false, now: () => now, pendingPushes: () => pending, config: options.config, schedule });
  let nextId = 1;
  let nonce = 0;
  const open = (service: string, nodeId: string, cluster = "c1"): StreamInfo => {
    const node = create(NodeSchema, { id: nodeId, cluster });
    // The label as the server makes it (service-table.ts serviceLabel): its protocol is the part before the dash.
    const protocol = service.startsWith("delta-") ? "delta" : service.startsWith("rest-") ? "rest" : "sotw";
    const info: StreamInfo = { id: nextId++, protocol, service, peer: "127.0.0.1:1", openedAt: 0 };
    metrics.streamOpened(info);
    info.node = node;
    info.nodeKey = cache.nodeKey(node);
    metrics.nodeIdentified(info);
    return info;
  };
  const send = (s: StreamInfo, typeUrl: string, bytes = 100, heartbeat = false) =>
    metrics.response(s, { typeUrl, versionInfo: "v", nonce: String(++nonce), resources: [], bytes, heartbeat });
  const ack = (s: StreamInfo, typeUrl: string) => {
    metrics.request(s, { typeUrl });
    metrics.ack(s, typeUrl, "v", "n");
  };
  const nack = (s: StreamInfo, typeUrl: string) => {
    metrics.request(s, { typeUrl });
    metrics.nack(s, { typeUrl, versionInfo: "old", nonce: "n", rejectedVersion: "v", code: 3, message: "no" });
  };
  return {
    cache,
    metrics,
    open,
    send,
    ack,
    nack,
    at: (ms: number) => void (now = ms),
    setPending: (n: number) => void (pending = n),
    /**
     * What the server's event loop would do next: the checks queued as microtasks, then the sweeps scheduled so far
     * (one each: a sweep that finds the queue not drained schedules the next, fired by the next settle), then the
     * microtasks those queued.
     */
    async settle(): Promise<void> {
      await new Promise(setImmediate);
      const due = [...timers];
      timers.clear();
      for (const run of due) run();
      await new Promise(setImmediate);
    },
    /** Sweeps scheduled and not fired. */
    get sweepsScheduled(): number {
      return timers.size;
    },
    /** The value of one series; 0 when it does not exist (a counter not yet incremented). */
    async value(name: string, labels: Record<string, string> = {}): Promise<number> {
      const metric = metrics.registry.getSingleMetric(name);
      assert.ok(metric, `no metric ${name}`);
      const { values } = await metric.get();
      const match = values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
      return match?.value ?? 0;
    },
    async histogram(name: string): Promise<{ count: number; sum: number }> {
      const { values } = await metrics.registry.getSingleMetric(name)!.get();
      const get = (suffix: string) => values.find((v) => (v as { metricName?: string }).metricName === `${name}${suffix}`)?.value ?? 0;
      return { count: get("_count"), sum: get("_sum") };
    },
  };
}

const twoClusters = (address: string) => Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", address), endpoints("b", address)]);

test("a service label is its protocol's prefix and the service, and gives the service back", () => {
  for (const [protocol, service, label] of [
    ["sotw", "ads", "ads"],
    ["sotw", "eds", "eds"],
    ["delta", "ads", "delta-ads"],
    ["rest", "cds", "rest-cds"],
  ] as const) {
    assert.equal(serviceLabel(protocol, service), label);
    assert.equal(serviceOfLabel(protocol, label), service);
  }
});

test("streams by protocol and service, and distinct connected proxies; both return to zero", async () => {
  const h = harness();
  const a1 = h.open("ads", "n1");
  const a2 = h.open("eds", "n1"); // the same proxy on a second stream
  const d = h.open("delta-ads", "n2");
  const r = h.open("rest-cds", "n3");
  assert.equal(await h.value("xdsd_connected_proxies"), 3);
  assert.equal(await h.value("xdsd_streams", { protocol: "sotw", service: "ads" }), 1);
  assert.equal(await h.value("xdsd_streams", { protocol: "sotw", service: "eds" }), 1);
  assert.equal(await h.value("xdsd_streams", { protocol: "delta", service: "ads" }), 1);
  assert.equal(await h.value("xdsd_streams", { protocol: "rest", service: "cds" }), 1);
  for (const s of [a1, a2, d, r]) h.metrics.streamClosed(s, "bye");
  assert.equal(await h.value("xdsd_connected_proxies"), 0);
  assert.equal(await h.value("xdsd_streams", { protocol: "sotw", service: "ads" }), 0);
  assert.equal(await h.value("xdsd_streams_opened_total", { protocol: "sotw", service: "ads" }), 1);
  assert.equal(await h.value("xdsd_streams_opened_total", { protocol: "rest", service: "cds" }), 1);
  // A second close of the same stream changes nothing.
  h.metrics.streamClosed(a1, "again");
  assert.equal(await h.value("xdsd_streams", { protocol: "sotw", service: "ads" }), 0);
  // Nor does an event after the close: it is counted, but the stream stays closed.
  h.metrics.request(a1, { typeUrl: CDS });
  h.metrics.nodeIdentified(a1);
  assert.equal(await h.value("xdsd_streams", { protocol: "sotw", service: "ads" }), 0);
  assert.equal(await h.value("xdsd_connected_proxies"), 0);
  assert.equal(await h.value("xdsd_requests_total", { protocol: "sotw", type: "cds" }), 1);
  h.metrics.close();
});

test("requests, responses, bytes, ACKs, NACKs and ignored requests by protocol and type; unknown types are one label", async () => {
  const h = harness();
  const s = h.open("ads", "n1");
  const e = h.open("eds", "n2");
  h.metrics.request(s, { typeUrl: CDS });
  h.send(s, CDS, 300);
  h.ack(s, CDS);
  h.send(s, EDS, 50);
  h.nack(s, EDS);
  h.send(s, EDS, 7, true);
  h.metrics.ignored(s, { typeUrl: "type.googleapis.com/made.up.One" }, "unknown type");
  h.metrics.ignored(s, { typeUrl: "type.googleapis.com/made.up.Two" }, "unknown type");
  h.metrics.request(e, { typeUrl: "" }); // a per-type service: the type is the service's
  assert.equal(await h.value("xdsd_requests_total", { protocol: "sotw", type: "cds" }), 2);
  assert.equal(await h.value("xdsd_requests_total", { protocol: "sotw", type: "eds" }), 2);
  assert.equal(await h.value("xdsd_responses_total", { protocol: "sotw", type: "cds", kind: "update" }), 1);
  assert.equal(await h.value("xdsd_responses_total", { protocol: "sotw", type: "eds", kind: "update" }), 1);
  assert.equal(await h.value("xdsd_responses_total", { protocol: "sotw", type: "eds", kind: "heartbeat" }), 1);
  assert.equal(await h.value("xdsd_response_bytes_total", { protocol: "sotw", type: "cds" }), 300);
  assert.equal(await h.value("xdsd_response_bytes_total", { protocol: "sotw", type: "eds" }), 57);
  assert.equal(await h.value("xdsd_acks_total", { protocol: "sotw", type: "cds" }), 1);
  assert.equal(await h.value("xdsd_nacks_total", { protocol: "sotw", type: "eds" }), 1);
  assert.equal(await h.value("xdsd_ignored_requests_total", { protocol: "sotw", type: "unknown" }), 2);
  const text = await h.metrics.metrics();
  assert.doesNotMatch(text, /made\.up|"n[12]"|c1\/n/, "no type URL, node id or group key becomes a label value");
  h.metrics.close();
});

test("publish to last ACK: observed when the last stream of the group connected at the publish has ACKed", async () => {
  const h = harness();
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.1:80"));
  const s1 = h.open("ads", "n1");
  h.open("ads", "n1"); // a second stream, which turns out to need nothing
  const other = h.open("ads", "n2"); // another group: not waited for
  h.send(other, CDS);

  h.at(2000);
  h.setPending(2); // both streams are queued to push
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.2:80"));
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 1);
  h.at(2100);
  h.send(s1, EDS);
  h.setPending(1);
  h.at(2200);
  h.ack(s1, EDS);
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 1, "s2 has not pushed yet");
  assert.equal(h.sweepsScheduled, 1, "the sweep found the queue not drained: it looks again later");
  h.setPending(0); // s2 pushed and needed nothing
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 0);
  assert.equal(await h.value("xdsd_rollouts_total", { result: "acked" }), 1);
  const { count, sum } = await h.histogram("xdsd_publish_to_ack_seconds");
  assert.equal(count, 1);
  assert.equal(sum, 0.2, "from the publish (t=2000) to the check after the queue drained (t=2200)");
  h.metrics.close();
});

test("an ACK followed at once by the next response does not settle the stream; the ACK of that one does", async () => {
  const h = harness();
  const s = h.open("ads", "n1");
  h.send(s, CDS); // in flight before the publish
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.2:80"));
  await h.settle();
  h.at(1300);
  h.ack(s, CDS);
  h.send(s, CDS); // what the stream does on that ACK: sends the new content, in the same call
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 1);
  h.at(1750);
  h.ack(s, CDS);
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_total", { result: "acked" }), 1);
  assert.equal((await h.histogram("xdsd_publish_to_ack_seconds")).sum, 0.75);
  h.metrics.close();
});

test("a NACK of content older than the publish does not count against the rollout: it ends acked", async () => {
  const h = harness();
  const s = h.open("ads", "n1");
  const t = h.open("ads", "n1");
  h.send(t, EDS); // older content, in flight at the publish
  const mark = h.metrics.rollouts.mark();
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.2:80"));
  const outcome = h.metrics.rollouts.waitForPublish(mark, 5000);
  h.send(s, CDS);
  h.nack(t, EDS); // rejects what it held before the publish: nothing of this rollout
  h.at(1100);
  h.ack(s, CDS);
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_total", { result: "nacked" }), 0);
  assert.equal(await h.value("xdsd_rollouts_total", { result: "acked" }), 1);
  assert.equal((await h.histogram("xdsd_publish_to_ack_seconds")).count, 1);
  assert.deepEqual(await outcome, { complete: true, groups: 1, settled: 2, acked: 1, nacked: [], pending: [], timedOut: false });
  h.metrics.close();
});

test("a NACK of the new content ends the rollout as nacked, not observed, and names the client and type", async () => {
  const h = harness();
  const s = h.open("ads", "n1");
  const t = h.open("ads", "n1");
  const mark = h.metrics.rollouts.mark();
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.3:80"));
  const outcome = h.metrics.rollouts.waitForPublish(mark, 5000);
  h.send(t, EDS); // sent after the publish: computed from it
  h.send(s, CDS);
  h.nack(t, EDS);
  h.ack(s, CDS);
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_total", { result: "nacked" }), 1);
  assert.equal(await h.value("xdsd_rollouts_total", { result: "acked" }), 0);
  assert.equal((await h.histogram("xdsd_publish_to_ack_seconds")).count, 0);
  const { complete, nacked } = await outcome;
  assert.equal(complete, false);
  assert.deepEqual(nacked, [{ node: "c1/n1", type: "eds", message: "no" }]);
  h.metrics.close();
});

test("a newer publish supersedes a rollout; clients that all leave end it as disconnected; a closed client is not waited for", async () => {
  const h = harness();
  const s = h.open("ads", "n1");
  const t = h.open("ads", "n1");
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.2:80"));
  h.send(s, CDS);
  h.send(t, CDS);
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.3:80"));
  assert.equal(await h.value("xdsd_rollouts_total", { result: "superseded" }), 1);
  h.at(1400);
  h.ack(s, CDS);
  h.metrics.streamClosed(t, "gone");
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_total", { result: "acked" }), 1, "t left: s alone decides");

  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.4:80"));
  h.send(s, CDS);
  h.metrics.streamClosed(s, "gone");
  assert.equal(await h.value("xdsd_rollouts_total", { result: "disconnected" }), 1);
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 0);
  h.metrics.close();
});

test("a publish that does not change a group's snapshot starts no rollout for it", async () => {
  const h = harness();
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.1:80"));
  h.open("ads", "n1");
  h.cache.setSnapshot("c1/other", twoClusters("10.0.0.2:80"));
  h.cache.setDefaultSnapshot(twoClusters("10.0.0.3:80")); // n1 has its own snapshot
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 0);
  h.metrics.close();
});

test("a REST poller settles once it has polled since the publish and nothing is awaiting its reply", async () => {
  const h = harness();
  const r = h.open("rest-cds", "n1");
  h.cache.setDefaultSnapshot(twoClusters("10.0.0.2:80"));
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 1, "no poll since the publish");
  h.at(3000);
  h.metrics.request(r, { typeUrl: CDS });
  h.send(r, CDS); // the 200 with the new content
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_in_progress"), 1);
  h.at(6000);
  h.ack(r, CDS); // the next poll carries the new version
  await h.settle();
  assert.equal(await h.value("xdsd_rollouts_total", { result: "acked" }), 1);
  assert.equal((await h.histogram("xdsd_publish_to_ack_seconds")).sum, 5);
  h.metrics.close();
});

test("config reloads by result, the config version, and the default snapshot's versions and sizes", async () => {
  const state: ConfigState = { file: "x.yaml", version: "abc", loadedAt: new Date(1_700_000_000_000) };
  const h = harness({ config: () => state });
  h.metrics.configReloaded("published");
  h.metrics.configReloaded("unchanged");
  h.metrics.configReloaded("rejected");
  h.metrics.configReloaded("rejected");
  state.lastError = { at: new Date(), message: "bad" };
  h.cache.setDefaultSnapshot(twoClusters("10.0.0.2:80"));
  h.cache.setSnapshot("c1/n9", twoClusters("10.0.0.3:80"));
  assert.equal(await h.value("xdsd_config_reloads_total", { result: "published" }), 1);
  assert.equal(await h.value("xdsd_config_reloads_total", { result: "unchanged" }), 1);
  assert.equal(await h.value("xdsd_config_reloads_total", { result: "rejected" }), 2);
  assert.equal(await h.value("xdsd_config_last_reload_successful"), 0);
  assert.equal(await h.value("xdsd_config_last_reload_success_timestamp_seconds"), 1_700_000_000);
  assert.equal(await h.value("xdsd_config_info", { version: "abc" }), 1);
  const version = h.cache.defaultSnapshot()!.typeVersion(CDS);
  assert.equal(await h.value("xdsd_snapshot_info", { type: "cds", version }), 1);
  assert.equal(await h.value("xdsd_snapshot_resources", { type: "eds" }), 2);
  assert.equal(await h.value("xdsd_node_groups"), 1);
  h.metrics.close();
});
