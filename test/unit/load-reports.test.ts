// The load-report aggregation alone (server/load-reports.ts): counts summed per cluster, locality and endpoint over
// the sliding window, requests in progress as each reporter's latest level, and memory bounded by the limits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ClusterStatsSchema, type ClusterStats } from "../../src/gen/envoy/config/endpoint/v3/load_report_pb.js";
import { LoadReports, maxLoadNameChars } from "../../src/server/load-reports.js";

/** One cluster's stats: per locality zone, [issued, succeeded, errored, in progress], and endpoints per locality. */
function stats(
  cluster: string,
  localities: Record<string, [number, number, number, number]>,
  extra: { dropped?: Record<string, number>; endpoints?: Record<string, Record<string, [number, number, number, number]>> } = {},
): ClusterStats {
  const dropped = Object.entries(extra.dropped ?? {});
  return create(ClusterStatsSchema, {
    clusterName: cluster,
    totalDroppedRequests: BigInt(dropped.reduce((n, [, d]) => n + d, 0)),
    droppedRequests: dropped.map(([category, n]) => ({ category, droppedCount: BigInt(n) })),
    upstreamLocalityStats: Object.entries(localities).map(([zone, [issued, succeeded, errored, inProgress]]) => ({
      locality: { region: "r", zone },
      totalIssuedRequests: BigInt(issued),
      totalSuccessfulRequests: BigInt(succeeded),
      totalErrorRequests: BigInt(errored),
      totalRequestsInProgress: BigInt(inProgress),
      upstreamEndpointStats: Object.entries(extra.endpoints?.[zone] ?? {}).map(([address, [i, s, e, p]]) => {
        const [host, port] = address.split(":");
        return {
          address: {
            address: { case: "socketAddress" as const, value: { address: host, portSpecifier: { case: "portValue" as const, value: Number(port) } } },
          },
          totalIssuedRequests: BigInt(i),
          totalSuccessfulRequests: BigInt(s),
          totalErrorRequests: BigInt(e),
          totalRequestsInProgress: BigInt(p),
        };
      }),
    })),
  });
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test("counts add up per cluster, locality and endpoint over reports and reporters; in progress is each reporter's latest", () => {
  const c = clock();
  const loads = new LoadReports({ lrsWindow: 60, now: c.now });
  const endpoints = { a: { "10.0.0.1:80": [6, 5, 1, 1] as [number, number, number, number], "10.0.0.2:80": [4, 4, 0, 0] as [number, number, number, number] } };
  loads.record(1, [stats("web", { a: [10, 9, 1, 1], b: [5, 3, 2, 0] }, { dropped: { overload: 2 }, endpoints })]);
  c.t += 1000;
  loads.record(1, [stats("web", { a: [10, 10, 0, 3] })]);
  loads.record(2, [stats("web", { b: [1, 0, 1, 2] }, { dropped: { overload: 1, lb: 4 } })]);
  const view = loads.view();
  assert.equal(view.window_seconds, 60);
  assert.equal(view.reporters, 2);
  assert.equal(view.clusters.length, 1);
  const web = view.clusters[0];
  assert.equal(web.cluster, "web");
  assert.equal(web.service_name, "");
  // In progress: reporter 1 said 3 last (its latest report), reporter 2 said 2.
  assert.deepEqual(web.requests, { issued: 26, succeeded: 22, errored: 4, in_progress: 5 });
  assert.equal(web.dropped, 7);
  assert.deepEqual(web.dropped_by_category, { overload: 3, lb: 4 });
  assert.deepEqual(web.rate, { requests_per_second: Math.round((26 / 60) * 1000) / 1000, errors_per_second: Math.round((4 / 60) * 1000) / 1000 });
  assert.deepEqual(
    web.localities.map((l) => [l.zone, l.issued, l.succeeded, l.errored, l.in_progress]),
    [
      ["a", 20, 19, 1, 3],
      ["b", 6, 3, 3, 2],
    ],
  );
  assert.deepEqual(web.localities[0].endpoints, [
    { address: "10.0.0.1:80", issued: 6, succeeded: 5, errored: 1, in_progress: 1 },
    { address: "10.0.0.2:80", issued: 4, succeeded: 4, errored: 0, in_progress: 0 },
  ]);
  // A reporter whose stream ended no longer has requests in progress; its counts stay for the window.
  loads.forget(2);
  const after = loads.view().clusters[0];
  assert.deepEqual(after.requests, { issued: 26, succeeded: 22, errored: 4, in_progress: 3 });
  assert.equal(loads.view().reporters, 1);
});

test("the window slides: counts leave with their bucket (a twelfth of the window), and an idle cluster goes", () => {
  const c = clock(0);
  const loads = new LoadReports({ lrsWindow: 60, now: c.now });
  loads.record(1, [stats("web", { a: [10, 10, 0, 0] })]);
  c.t = 30_000;
  loads.record(1, [stats("web", { a: [5, 4, 1, 0] })]);
  c.t = 59_999;
  assert.equal(loads.view().clusters[0].requests.issued, 15);
  // At 60 s the bucket [0, 5 s) is out of the window: only the report at 30 s counts.
  c.t = 60_000;
  assert.deepEqual(loads.view().clusters[0].requests, { issued: 5, succeeded: 4, errored: 1, in_progress: 0 });
  c.t = 90_000;
  assert.deepEqual(loads.view().clusters, []);
  // The totals since the start (the metrics' counters) never go down.
  assert.deepEqual([...loads.totals()], [{ cluster: "web", issued: 15, succeeded: 14, errored: 1, dropped: 0, in_progress: 0 }]);
});

test("a reporter silent for a whole window no longer counts in progress (grpc-js reports only the clusters it used)", () => {
  const c = clock(0);
  const loads = new LoadReports({ lrsWindow: 60, now: c.now });
  loads.record(1, [stats("web", { a: [1, 0, 0, 1] })]);
  c.t = 59_000;
  assert.equal(loads.view().clusters[0].requests.in_progress, 1);
  c.t = 61_000;
  assert.deepEqual(loads.view().clusters, []);
});

test("bounded: clusters past lrsMaxClusters and rows past lrsMaxRows are not kept, counted as discarded; idle ones make room", () => {
  const c = clock(0);
  const loads = new LoadReports({ lrsWindow: 60, lrsMaxClusters: 2, lrsMaxRows: 3, now: c.now });
  loads.record(1, [stats("a", { z1: [1, 1, 0, 0] }), stats("b", { z1: [1, 1, 0, 0] }), stats("c", { z1: [7, 7, 0, 0] })]);
  let view = loads.view();
  assert.deepEqual(
    view.clusters.map((x) => x.cluster),
    ["a", "b"],
  );
  assert.deepEqual(view.discarded, { clusters: 1, rows: 0 });
  // Rows: a/z1 and b/z1 are two; a/z2 is the third; a/z3 is over the bound but still counts in its cluster's totals.
  loads.record(1, [stats("a", { z2: [2, 2, 0, 0], z3: [3, 3, 0, 0] })]);
  view = loads.view();
  assert.deepEqual(
    view.clusters[0].localities.map((l) => l.zone),
    ["z1", "z2"],
  );
  assert.equal(view.clusters[0].requests.issued, 6);
  assert.deepEqual(view.discarded, { clusters: 1, rows: 1 });
  // Once the window has passed, the idle clusters and rows go, and new ones fit.
  c.t = 61_000;
  loads.record(1, [stats("c", { z1: [4, 4, 0, 0] })]);
  view = loads.view();
  assert.deepEqual(
    view.clusters.map((x) => [x.cluster, x.requests.issued]),
    [["c", 4]],
  );
  assert.deepEqual(view.discarded, { clusters: 1, rows: 1 });
  // The metrics' clusters are bounded by the same count: a third cluster name is summed under "(other)".
  assert.deepEqual(
    [...loads.totals()].map((t) => [t.cluster, t.issued]),
    [
      ["a", 6],
      ["b", 1],
      ["(other)", 11],
    ],
  );
});

test("names longer than maxLoadNameChars are not kept (a report may be megabytes): discarded, the metrics' under (other)", () => {
  const loads = new LoadReports();
  const long = "x".repeat(maxLoadNameChars + 1);
  loads.record(1, [stats(long, { a: [1, 1, 0, 0] }), stats("web", { [long]: [2, 2, 0, 0] })]);
  const view = loads.view();
  assert.deepEqual(
    view.clusters.map((c) => [c.cluster, c.requests.issued, c.localities.length]),
    [["web", 2, 0]],
  );
  assert.deepEqual(view.discarded, { clusters: 1, rows: 1 });
  assert.deepEqual(
    [...loads.totals()].map((t) => [t.cluster, t.issued]),
    [
      ["(other)", 1],
      ["web", 2],
    ],
  );
});
