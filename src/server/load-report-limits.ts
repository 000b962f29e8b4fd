// How load reports (LRS, protocol/lrs-service.ts) are asked for and kept (load-reports.ts): how often a client
// reports, the window GET /loads sums over, and how many clusters and rows are kept at most. docs/limits.md lists
// them with the `xdsd serve` flags that change them.
import { kebabCaseFlags } from "../limit-flags.js";
export interface LoadReportLimits {
  /** Seconds between a client's reports: LoadStatsResponse.load_reporting_interval. */
  lrsInterval: number;
  /** Seconds of reports that GET /loads and its rates sum over (the last 11 to 12 twelfths of it: see load-reports.ts). */
  lrsWindow: number;
  /** (cluster, service name) pairs kept; the stats of another are not kept (counted as discarded). */
  lrsMaxClusters: number;
  /** Locality and endpoint rows kept over every cluster; the stats of another row are not kept (its cluster's are). */
  lrsMaxRows: number;
}

export const defaultLoadReportLimits: Readonly<LoadReportLimits> = Object.freeze({
  // Envoy and gRPC have no default: the server says. Istio-style control planes ask for 10 s or more: each report
  // is a message per client per interval, and a dashboard does not need finer.
  lrsInterval: 10,
  lrsWindow: 60,
  lrsMaxClusters: 1000,
  lrsMaxRows: 10_000,
});

/** The `xdsd serve` flag of each (`lrsMaxRows` → `--lrs-max-rows`). */
export const loadReportLimitFlags = kebabCaseFlags(defaultLoadReportLimits);
