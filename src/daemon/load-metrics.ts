// The load metrics (docs/metrics.md, "Load reports"): what LRS clients report (server/load-reports.ts), as
// Prometheus counters per cluster since the daemon started, read at scrape time. The `cluster` label is bounded by
// --lrs-max-clusters (load-report-limits.ts): clusters first reported past it are summed under `(other)`; never a
// locality, endpoint or node, which would make a series per proxy or backend (GET /loads has them).
import { Counter, Gauge, type Registry } from "prom-client";
import type { ClusterTotals, LoadReports } from "../server/load-reports.js";

export function registerLoadMetrics(registry: Registry, loads: LoadReports): void {
  const registers = [registry];
  const perCluster = (name: string, help: string, value: (t: ClusterTotals) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["cluster"],
      registers,
      collect() {
        this.reset();
        for (const t of loads.totals()) this.inc({ cluster: t.cluster }, value(t));
      },
    });
  perCluster("xdsd_load_requests_issued_total", "Requests load reports (LRS) say clients issued, by cluster.", (t) => t.issued);
  perCluster("xdsd_load_requests_succeeded_total", "Requests load reports say succeeded, by cluster.", (t) => t.succeeded);
  perCluster("xdsd_load_requests_errored_total", "Requests load reports say failed (5xx, or a gRPC error), by cluster.", (t) => t.errored);
  perCluster(
    "xdsd_load_requests_dropped_total",
    "Requests load reports say the client's load balancer dropped (drop_overloads), by cluster.",
    (t) => t.dropped,
  );
  new Gauge({
    name: "xdsd_load_requests_in_progress",
    help: "Requests in progress as the clients' latest load reports say, by cluster.",
    labelNames: ["cluster"],
    registers,
    collect() {
      this.reset();
      for (const t of loads.totals()) this.set({ cluster: t.cluster }, t.in_progress);
    },
  });
  new Counter({
    name: "xdsd_load_reports_total",
    help: "Load reports (LoadStatsRequests carrying stats) received.",
    registers,
    collect() {
      this.reset();
      this.inc(loads.reports);
    },
  });
  new Counter({
    name: "xdsd_load_stats_discarded_total",
    help: "Stats of a cluster (level=cluster) or of a locality or endpoint (level=row) not kept for GET /loads: the bounds --lrs-max-clusters, --lrs-max-rows were reached.",
    labelNames: ["level"],
    registers,
    collect() {
      this.reset();
      this.inc({ level: "cluster" }, loads.discarded.clusters);
      this.inc({ level: "row" }, loads.discarded.rows);
    },
  });
}
