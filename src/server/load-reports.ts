// The load the clients report (LRS, protocol/lrs-service.ts), summed per cluster (and EDS service name), locality
// and endpoint over a sliding window: GET /loads and the load metrics read it.
//
// A report carries, per cluster and locality, the requests issued, succeeded and errored since the client's previous
// report, and those in progress now (envoy.config.endpoint.v3.UpstreamLocalityStats). So counts add up, and the
// window keeps them per bucket: a twelfth of the window each, so that what is summed is what arrived in the last 11
// to 12 twelfths of it (the oldest bucket leaves whole). In progress is a level, not a count: per row, each
// reporter's latest value, summed over reporters; a reporter's value goes when its stream closes, or once it has
// not said it for a whole window (grpc-js reports only the clusters it used since its last report).
//
// Memory is bounded by the limits (load-report-limits.ts): at most lrsMaxClusters clusters and lrsMaxRows locality
// and endpoint rows in all; a row whose window is empty and whose reporters are gone is dropped to make room. The
// stats of a cluster or row past the bounds are not kept (`discarded` counts them); a locality past them still
// counts in its cluster's totals, an endpoint in its locality's.
import type { ClusterStats, UpstreamEndpointStats, UpstreamLocalityStats } from "../gen/envoy/config/endpoint/v3/load_report_pb.js";
import type { Address } from "../gen/envoy/config/core/v3/address_pb.js";
import { formatListenAddress } from "./transport/listen-address.js";
import { defaultLoadReportLimits, type LoadReportLimits } from "./load-report-limits.js";

/** Where an LRS stream hands what its client reports (ServiceContext.loads). */
export interface LoadSink {
  /** Seconds between a client's reports, sent to it as LoadStatsResponse.load_reporting_interval. */
  readonly intervalSeconds: number;
  /** A LoadStatsRequest's cluster stats, from the stream `reporter` (its StreamInfo id). */
  record(reporter: number, stats: readonly ClusterStats[]): void;
  /** The stream `reporter` ended: its requests in progress no longer count. */
  forget(reporter: number): void;
}

/** Requests of a cluster, locality or endpoint over the window (in progress: now). */
export interface RequestCounts {
  issued: number;
  succeeded: number;
  errored: number;
  in_progress: number;
}

export interface EndpointLoad extends RequestCounts {
  /** `host:port` (`[v6]:port`), or a pipe's path. */
  address: string;
}

export interface LocalityLoad extends RequestCounts {
  region: string;
  zone: string;
  sub_zone: string;
  /** Only from clients that report per endpoint (Envoy does when asked: report_endpoint_granularity). */
  endpoints: EndpointLoad[];
}

export interface ClusterLoad {
  cluster: string;
  /** The cluster's EDS service name, when it has one ("" otherwise). */
  service_name: string;
  requests: RequestCounts;
  /** Requests dropped by the client's load balancer (drop_overloads), in all. */
  dropped: number;
  dropped_by_category: Record<string, number>;
  rate: { requests_per_second: number; errors_per_second: number };
  localities: LocalityLoad[];
}

/** GET /loads. */
export interface LoadsView {
  window_seconds: number;
  interval_seconds: number;
  /** LRS streams that have reported and are still open. */
  reporters: number;
  clusters: ClusterLoad[];
  /** Cluster and row stats not kept since the start because the bounds were reached (docs/limits.md). */
  discarded: { clusters: number; rows: number };
}

/** Totals since the start, per cluster name, for the metrics (counters never go down). */
export interface ClusterTotals {
  readonly cluster: string;
  issued: number;
  succeeded: number;
  errored: number;
  dropped: number;
}

/**
 * Characters of a cluster, service, locality field or endpoint name kept: a report is up to --max-request-bytes, and
 * rows with megabyte names would make the row bounds meaningless. Real names are far shorter (DNS names: 253).
 */
export const maxLoadNameChars = 1024;

/** The buckets a window is cut into. */
const bucketsPerWindow = 12;
/** Drop categories kept per cluster; others are summed under `otherCategory`. Clients use one or two. */
const maxDropCategories = 16;
const otherCategory = "(other)";

/** Counts per bucket of the window: `width` numbers a bucket, the oldest bucket reused when a new one starts. */
class WindowedCounts {
  readonly #epochs: number[] = new Array<number>(bucketsPerWindow).fill(-1);
  readonly #counts: number[];

  constructor(private readonly width: number) {
    this.#counts = new Array<number>(bucketsPerWindow * width).fill(0);
  }

  add(epoch: number, values: readonly number[]): void {
    const slot = epoch % bucketsPerWindow;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#counts.fill(0, slot * this.width, (slot + 1) * this.width);
    }
    for (let i = 0; i < this.width; i++) this.#counts[slot * this.width + i] += values[i];
  }

  /** The sums over the buckets of the window that ends with `epoch`. */
  sum(epoch: number): number[] {
    const out = new Array<number>(this.width).fill(0);
    for (let slot = 0; slot < bucketsPerWindow; slot++) {
      const e = this.#epochs[slot];
      if (e <= epoch - bucketsPerWindow || e > epoch) continue;
      for (let i = 0; i < this.width; i++) out[i] += this.#counts[slot * this.width + i];
    }
    return out;
  }
}

/** A locality's or an endpoint's stats. */
class Row {
  readonly counts = new WindowedCounts(3);
  /** Reporter → its latest requests in progress, and the bucket it said so in. */
  readonly inProgress = new Map<number, { n: number; epoch: number }>();

  add(epoch: number, reporter: number, issued: number, succeeded: number, errored: number, inProgress: number): void {
    this.counts.add(epoch, [issued, succeeded, errored]);
    this.inProgress.set(reporter, { n: inProgress, epoch });
  }

  requests(epoch: number): RequestCounts {
    const [issued, succeeded, errored] = this.counts.sum(epoch);
    let inProgress = 0;
    for (const p of this.inProgress.values()) if (p.epoch > epoch - bucketsPerWindow) inProgress += p.n;
    return { issued, succeeded, errored, in_progress: inProgress };
  }

  /** Nothing in the window, nobody in progress: the row says nothing and may go. */
  idle(epoch: number): boolean {
    const r = this.requests(epoch);
    return r.issued === 0 && r.succeeded === 0 && r.errored === 0 && r.in_progress === 0;
  }
}

class LocalityRow extends Row {
  readonly endpoints = new Map<string, Row>();
  constructor(
    readonly region: string,
    readonly zone: string,
    readonly subZone: string,
  ) {
    super();
  }
}

class ClusterRow extends Row {
  readonly dropped = new WindowedCounts(1);
  readonly droppedByCategory = new Map<string, WindowedCounts>();
  readonly localities = new Map<string, LocalityRow>();
  constructor(
    readonly cluster: string,
    readonly serviceName: string,
  ) {
    super();
  }

  /** Locality and endpoint rows it holds. */
  override idle(epoch: number): boolean {
    return super.idle(epoch) && this.dropped.sum(epoch)[0] === 0;
  }
}

export interface LoadReportsOptions extends Partial<LoadReportLimits> {
  /** Wall clock in ms (default Date.now); tests pass a fake. */
  now?: () => number;
}

export class LoadReports implements LoadSink {
  readonly intervalSeconds: number;
  readonly windowSeconds: number;
  readonly #bucketMs: number;
  readonly #maxClusters: number;
  readonly #maxRows: number;
  readonly #now: () => number;
  readonly #clusters = new Map<string, ClusterRow>();
  #rows = 0;
  /** Reporter → the rows it has a value in progress in (to take it out when its stream ends). */
  readonly #reporters = new Map<number, Set<Row>>();
  /** Since the start, per cluster name: at most lrsMaxClusters names, the others summed under `otherCategory`. */
  readonly #totals = new Map<string, ClusterTotals>();
  #reports = 0;
  /** The cluster a report is being added to: a sweep to make room leaves it (and its rows) alone. */
  #writing: ClusterRow | undefined;
  readonly #discarded = { clusters: 0, rows: 0 };

  constructor(options: LoadReportsOptions = {}) {
    const limits = { ...defaultLoadReportLimits, ...options };
    this.intervalSeconds = limits.lrsInterval;
    this.windowSeconds = limits.lrsWindow;
    this.#bucketMs = (limits.lrsWindow * 1000) / bucketsPerWindow;
    this.#maxClusters = limits.lrsMaxClusters;
    this.#maxRows = limits.lrsMaxRows;
    this.#now = options.now ?? Date.now;
  }

  /** LoadStatsRequests that carried stats, since the start. */
  get reports(): number {
    return this.#reports;
  }

  get discarded(): { readonly clusters: number; readonly rows: number } {
    return this.#discarded;
  }

  record(reporter: number, stats: readonly ClusterStats[]): void {
    if (stats.length === 0) return;
    this.#reports++;
    const epoch = this.#epoch();
    let rows = this.#reporters.get(reporter);
    if (!rows) this.#reporters.set(reporter, (rows = new Set()));
    for (const cs of stats) {
      const cluster = this.#cluster(cs.clusterName, cs.clusterServiceName, epoch);
      this.#writing = cluster;
      const sum = { issued: 0, succeeded: 0, errored: 0, inProgress: 0 };
      for (const ls of cs.upstreamLocalityStats) {
        const [issued, succeeded, errored, inProgress] = counts(ls);
        sum.issued += issued;
        sum.succeeded += succeeded;
        sum.errored += errored;
        sum.inProgress += inProgress;
        if (!cluster) continue;
        const locality = this.#locality(cluster, ls, epoch);
        if (!locality) continue;
        locality.add(epoch, reporter, issued, succeeded, errored, inProgress);
        rows.add(locality);
        for (const es of ls.upstreamEndpointStats) {
          const endpoint = this.#endpoint(locality, es.address, epoch);
          if (!endpoint) continue;
          endpoint.add(epoch, reporter, ...counts(es));
          rows.add(endpoint);
        }
      }
      const dropped = Number(cs.totalDroppedRequests);
      const totals = this.#totalsOf(cs.clusterName);
      totals.issued += sum.issued;
      totals.succeeded += sum.succeeded;
      totals.errored += sum.errored;
      totals.dropped += dropped;
      if (!cluster) continue;
      cluster.add(epoch, reporter, sum.issued, sum.succeeded, sum.errored, sum.inProgress);
      rows.add(cluster);
      cluster.dropped.add(epoch, [dropped]);
      for (const d of cs.droppedRequests) {
        let category = cluster.droppedByCategory.get(d.category);
        if (!category) {
          const name = cluster.droppedByCategory.size < maxDropCategories && d.category.length <= maxLoadNameChars ? d.category : otherCategory;
          category = cluster.droppedByCategory.get(name) ?? new WindowedCounts(1);
          cluster.droppedByCategory.set(name, category);
        }
        category.add(epoch, [Number(d.droppedCount)]);
      }
    }
    this.#writing = undefined;
  }

  forget(reporter: number): void {
    for (const row of this.#reporters.get(reporter) ?? []) row.inProgress.delete(reporter);
    this.#reporters.delete(reporter);
  }

  /** What GET /loads shows: clusters sorted by name and service name, localities and endpoints by their keys. */
  view(): LoadsView {
    const epoch = this.#epoch();
    this.#sweep(epoch);
    const perSecond = (n: number) => Math.round((n / this.windowSeconds) * 1000) / 1000;
    const clusters = [...this.#clusters.values()].sort((a, b) => compare(a.cluster, b.cluster) || compare(a.serviceName, b.serviceName));
    return {
      window_seconds: this.windowSeconds,
      interval_seconds: this.intervalSeconds,
      reporters: this.#reporters.size,
      clusters: clusters.map((c) => {
        const requests = c.requests(epoch);
        return {
          cluster: c.cluster,
          service_name: c.serviceName,
          requests,
          dropped: c.dropped.sum(epoch)[0],
          dropped_by_category: Object.fromEntries([...c.droppedByCategory].map(([name, w]) => [name, w.sum(epoch)[0]] as const).filter(([, n]) => n > 0)),
          rate: { requests_per_second: perSecond(requests.issued), errors_per_second: perSecond(requests.errored) },
          localities: [...c.localities.values()]
            .sort((a, b) => compare(a.region, b.region) || compare(a.zone, b.zone) || compare(a.subZone, b.subZone))
            .map((l) => ({
              region: l.region,
              zone: l.zone,
              sub_zone: l.subZone,
              ...l.requests(epoch),
              endpoints: [...l.endpoints].sort(([a], [b]) => compare(a, b)).map(([address, e]) => ({ address, ...e.requests(epoch) })),
            })),
        };
      }),
      discarded: { ...this.#discarded },
    };
  }

  /** Per cluster name, its totals since the start (the metrics' counters), and its requests in progress now. */
  *totals(): Iterable<ClusterTotals & { in_progress: number }> {
    const epoch = this.#epoch();
    const inProgress = new Map<string, number>();
    for (const c of this.#clusters.values()) {
      const name = this.#totals.has(c.cluster) ? c.cluster : otherCategory;
      inProgress.set(name, (inProgress.get(name) ?? 0) + c.requests(epoch).in_progress);
    }
    for (const t of this.#totals.values()) yield { ...t, in_progress: inProgress.get(t.cluster) ?? 0 };
  }

  #epoch(): number {
    return Math.floor(this.#now() / this.#bucketMs);
  }

  #cluster(name: string, serviceName: string, epoch: number): ClusterRow | undefined {
    if (name.length > maxLoadNameChars || serviceName.length > maxLoadNameChars) {
      this.#discarded.clusters++;
      return undefined;
    }
    const key = `${name}\u0000${serviceName}`;
    const known = this.#clusters.get(key);
    if (known) return known;
    if (this.#clusters.size >= this.#maxClusters) this.#sweep(epoch);
    if (this.#clusters.size >= this.#maxClusters) {
      this.#discarded.clusters++;
      return undefined;
    }
    const row = new ClusterRow(name, serviceName);
    this.#clusters.set(key, row);
    return row;
  }

  #locality(cluster: ClusterRow, ls: UpstreamLocalityStats, epoch: number): LocalityRow | undefined {
    const { region = "", zone = "", subZone = "" } = ls.locality ?? {};
    if (region.length + zone.length + subZone.length > maxLoadNameChars) {
      this.#discarded.rows++;
      return undefined;
    }
    const key = localityKey(region, zone, subZone);
    const known = cluster.localities.get(key);
    if (known) return known;
    if (!this.#roomForRow(epoch)) return undefined;
    const row = new LocalityRow(region, zone, subZone);
    cluster.localities.set(key, row);
    return row;
  }

  #endpoint(locality: LocalityRow, address: Address | undefined, epoch: number): Row | undefined {
    const key = addressText(address);
    if (key.length > maxLoadNameChars) {
      this.#discarded.rows++;
      return undefined;
    }
    const known = locality.endpoints.get(key);
    if (known) return known;
    if (!this.#roomForRow(epoch)) return undefined;
    const row = new Row();
    locality.endpoints.set(key, row);
    return row;
  }

  #roomForRow(epoch: number): boolean {
    if (this.#rows >= this.#maxRows) this.#sweep(epoch);
    if (this.#rows >= this.#maxRows) {
      this.#discarded.rows++;
      return false;
    }
    this.#rows++;
    return true;
  }

  #totalsOf(cluster: string): ClusterTotals {
    const fits = cluster.length <= maxLoadNameChars && (this.#totals.has(cluster) || this.#totals.size < this.#maxClusters);
    const name = fits ? cluster : otherCategory;
    let t = this.#totals.get(name);
    if (!t) this.#totals.set(name, (t = { cluster: name, issued: 0, succeeded: 0, errored: 0, dropped: 0 }));
    return t;
  }

  /** Drops the rows that say nothing any more (idle: nothing in the window, nobody in progress), and their counts. */
  #sweep(epoch: number): void {
    for (const [key, c] of this.#clusters) {
      if (c === this.#writing) continue;
      for (const [lkey, l] of c.localities) {
        for (const [ekey, e] of l.endpoints) {
          if (!e.idle(epoch)) continue;
          l.endpoints.delete(ekey);
          this.#rows--;
        }
        if (l.endpoints.size === 0 && l.idle(epoch)) {
          c.localities.delete(lkey);
          this.#rows--;
        }
      }
      if (c.localities.size === 0 && c.idle(epoch)) this.#clusters.delete(key);
    }
  }
}

function counts(s: UpstreamLocalityStats | UpstreamEndpointStats): [number, number, number, number] {
  return [Number(s.totalIssuedRequests), Number(s.totalSuccessfulRequests), Number(s.totalErrorRequests), Number(s.totalRequestsInProgress)];
}

function localityKey(region: string, zone: string, subZone: string): string {
  return `${region}\u0000${zone}\u0000${subZone}`;
}

function addressText(address: Address | undefined): string {
  switch (address?.address.case) {
    case "socketAddress": {
      const s = address.address.value;
      return s.portSpecifier.case === "portValue" ? formatListenAddress({ host: s.address, port: s.portSpecifier.value }) : s.address;
    }
    case "pipe":
      return address.address.value.path;
    case "envoyInternalAddress":
      return `internal:${address.address.value.addressNameSpecifier.value ?? ""}`;
    default:
      return "";
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
