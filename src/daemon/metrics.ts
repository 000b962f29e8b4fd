// Prometheus metrics (docs/metrics.md lists them all), served by the admin server at GET /metrics. The third
// listener of the server's events, beside logging and node status.
//
// Listeners run synchronously on the stream's path (events.ts), so the hot events only bump plain numbers: a stream
// keeps, per type it uses, a reference to the shared counters of its (protocol, type), and prom-client sees the
// numbers only when Prometheus scrapes (each metric's `collect`). Labels are bounded sets — protocol, service, type
// short name, result — never a node id, a node group key (one per node, with the default node hash) or a resource
// name: Prometheus keeps a series per label value for as long as it retains data.
//
// Publish-to-ACK: the rollouts (rollouts.ts) this listener owns and feeds the server's events to; it counts how
// they end and observes the acked ones' durations.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { describeNode } from "../cache/node-hash.js";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import type { ConfigState, ReloadResult, StoreWriteResult } from "./reloader.js";
import type { StoreStatus } from "./store-status.js";
import { byPushOrder, findResourceType } from "../resource/types.js";
import type { NackInfo, ResponseInfo, StreamInfo, XdsServerEvents } from "../server/observers/events.js";
import { serviceOfLabel, type Protocol } from "../server/service-label.js";
import { Rollouts, type RolloutResult, type RolloutsOptions } from "../server/observers/rollouts.js";

export interface XdsdMetricsOptions {
  /** The cache served: publishes start rollouts; the default snapshot's versions and the group count are exported. */
  cache?: SnapshotCache;
  /** Streams told of a snapshot that have not pushed it yet, over every server (XdsServer.pendingPushes). */
  pendingPushes?: () => number;
  /** The store's state (store-status.ts): xdsd_store_up, xdsd_store_revision, xdsd_leader. */
  storeStatus?: () => StoreStatus;
  /** The config file being served (ConfigReloader.state). */
  config?: () => ConfigState | undefined;
  /** Node's process metrics (prom-client's defaults); default true. */
  processMetrics?: boolean;
  /** Milliseconds, monotonic; tests pass a fake. */
  now?: () => number;
  /** The rollouts' sweep timer (RolloutsOptions.schedule); tests pass one they fire by hand. */
  schedule?: RolloutsOptions["schedule"];
}

/** Histogram buckets for publish-to-ACK, in seconds: a push to a local Envoy is milliseconds; a REST poller polls
 *  every few seconds; past two minutes something is wrong whatever the exact value. */
export const rolloutBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** prom-client's defaults that `promtool check metrics` rejects (gauges named `_total`); each is the sum of the
 *  per-type gauge of the same name without `_total`, so nothing is lost. */
const lintFailingDefaults = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

/** The counters of one (protocol, type), shared by every stream of that protocol using that type. */
interface TypeCounts {
  readonly labels: { protocol: Protocol; type: string };
  requests: number;
  updates: number;
  heartbeats: number;
  bytes: number;
  acks: number;
  nacks: number;
  ignored: number;
}

interface ServiceCounts {
  readonly labels: { protocol: Protocol; service: string };
  open: number;
  opened: number;
}

interface StreamState {
  readonly info: StreamInfo;
  /** False for the throwaway state of an event after the stream closed: it joins no gauge and no group. */
  readonly live: boolean;
  readonly protocol: Protocol;
  readonly service: ServiceCounts;
  /** Known types only: a client naming made-up types must not grow this. */
  readonly types: Map<string, TypeCounts>;
  /** describeNode(node), once identified: counted in the connected proxies. */
  identity?: string;
}

export class XdsdMetrics implements XdsServerEvents {
  readonly registry = new Registry();
  readonly #now: () => number;
  readonly #options: XdsdMetricsOptions;
  readonly #streams = new Map<StreamInfo, StreamState>();
  /** Streams closed: an event after the close (none is expected) must not bring one back into the gauges. */
  readonly #closed = new WeakSet<StreamInfo>();
  readonly #services = new Map<string, ServiceCounts>();
  readonly #types = new Map<string, TypeCounts>();
  /** Node identity → open streams and pollers. */
  readonly #proxies = new Map<string, number>();
  readonly #reloads: Record<ReloadResult, number> = { published: 0, unchanged: 0, rejected: 0 };
  readonly #storeWrites: Record<StoreWriteResult, number> = { committed: 0, invalid: 0, conflict: 0, managed_by_file: 0, failed: 0 };
  readonly #rolloutResults: Record<RolloutResult, number> = { acked: 0, nacked: 0, superseded: 0, disconnected: 0 };
  readonly #rolloutSeconds: Histogram;
  /** Calls and polls refused by node identity authorization (server/authorization.ts), by protocol. */
  readonly #denied = new Map<Protocol, number>();
  /** How publishes reach the clients: the histogram and the rollout counts are theirs; `?wait=acked` waits on them. */
  readonly rollouts: Rollouts;

  constructor(options: XdsdMetricsOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#rolloutSeconds = this.#define();
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of lintFailingDefaults) this.registry.removeSingleMetric(name);
    }
    this.rollouts = new Rollouts({
      cache: options.cache,
      pendingPushes: options.pendingPushes,
      now: this.#now,
      schedule: options.schedule,
      onFinish: (result, seconds) => {
        this.#rolloutResults[result]++;
        if (result === "acked") this.#rolloutSeconds.observe(seconds);
      },
    });
  }

  /** The text exposition, and its content type (the registry's). */
  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** For ConfigReloaderOptions.onReload. */
  configReloaded(result: ReloadResult): void {
    this.#reloads[result]++;
  }

  storeWritten(result: StoreWriteResult): void {
    this.#storeWrites[result]++;
  }

  close(): void {
    this.rollouts.close();
  }

  // ---- server events -------------------------------------------------------------------------------------------

  streamOpened(info: StreamInfo): void {
    this.#stream(info);
  }

  nodeIdentified(info: StreamInfo): void {
    const s = this.#stream(info);
    if (!s.live) return;
    if (s.identity === undefined) {
      s.identity = describeNode(info.node);
      this.#proxies.set(s.identity, (this.#proxies.get(s.identity) ?? 0) + 1);
    }
    this.rollouts.nodeIdentified(info);
  }

  streamClosed(info: StreamInfo, _reason?: string): void {
    const s = this.#streams.get(info);
    if (!s) return;
    this.#streams.delete(info);
    this.#closed.add(info);
    this.rollouts.streamClosed(info);
    s.service.open--;
    if (s.identity !== undefined) {
      const n = (this.#proxies.get(s.identity) ?? 1) - 1;
      if (n > 0) this.#proxies.set(s.identity, n);
      else this.#proxies.delete(s.identity);
    }
  }

  request(info: StreamInfo, request: { readonly typeUrl: string; readonly versionInfo?: string }): void {
    const s = this.#stream(info);
    this.#counts(s, request.typeUrl).requests++;
    if (s.live) this.rollouts.request(info, request);
  }

  response(info: StreamInfo, response: ResponseInfo): void {
    const s = this.#stream(info);
    const counts = this.#counts(s, response.typeUrl);
    if (response.heartbeat) counts.heartbeats++;
    else counts.updates++;
    counts.bytes += response.bytes;
    if (s.live) this.rollouts.response(info, response);
  }

  ack(info: StreamInfo, typeUrl: string, _versionInfo?: string, _nonce?: string): void {
    const s = this.#stream(info);
    this.#counts(s, typeUrl).acks++;
    if (s.live) this.rollouts.ack(info, typeUrl);
  }

  nack(info: StreamInfo, nack: NackInfo): void {
    const s = this.#stream(info);
    this.#counts(s, nack.typeUrl).nacks++;
    if (s.live) this.rollouts.nack(info, nack);
  }

  ignored(info: StreamInfo, request: { readonly typeUrl: string }, _reason?: string): void {
    this.#counts(this.#stream(info), request.typeUrl).ignored++;
  }

  denied(info: StreamInfo, _reason?: string): void {
    this.#denied.set(info.protocol, (this.#denied.get(info.protocol) ?? 0) + 1);
  }

  // ---- bookkeeping ---------------------------------------------------------------------------------------------

  /** The state of a stream, created on its first event (a listener attached late still counts what follows). */
  #stream(info: StreamInfo): StreamState {
    let s = this.#streams.get(info);
    if (s) return s;
    const { protocol } = info;
    const service = serviceOfLabel(protocol, info.service);
    const serviceKey = `${protocol}\u0000${service}`;
    let counts = this.#services.get(serviceKey);
    if (!counts) this.#services.set(serviceKey, (counts = { labels: { protocol, service }, open: 0, opened: 0 }));
    const live = !this.#closed.has(info);
    s = { info, live, protocol, service: counts, types: new Map() };
    // A closed stream's late event is counted (requests, responses…) but reopens nothing: its state is not kept.
    if (!live) return s;
    counts.open++;
    counts.opened++;
    this.#streams.set(info, s);
    return s;
  }

  #counts(s: StreamState, typeUrl: string): TypeCounts {
    const cached = s.types.get(typeUrl);
    if (cached) return cached;
    const known = findResourceType(typeUrl);
    // A per-type service's requests may leave type_url empty: the service says the type.
    const type = known?.short ?? (typeUrl === "" && s.service.labels.service !== "ads" ? s.service.labels.service : "unknown");
    const key = `${s.protocol}\u0000${type}`;
    let counts = this.#types.get(key);
    if (!counts) {
      counts = { labels: { protocol: s.protocol, type }, requests: 0, updates: 0, heartbeats: 0, bytes: 0, acks: 0, nacks: 0, ignored: 0 };
      this.#types.set(key, counts);
    }
    if (known || typeUrl === "") s.types.set(typeUrl, counts);
    return counts;
  }

  // ---- the metrics ---------------------------------------------------------------------------------------------

  /** Registers every xdsd metric; values are read from the bookkeeping above at scrape time. */
  #define(): Histogram {
    const registers = [this.registry];
    const services = this.#services;
    const types = this.#types;
    const o = this.#options;
    const self = this;

    new Gauge({
      name: "xdsd_connected_proxies",
      help: "Distinct nodes (by node id and cluster) with at least one open xDS stream or remembered REST poller.",
      registers,
      collect() {
        this.set(self.#proxies.size);
      },
    });
    new Gauge({
      name: "xdsd_streams",
      help: "Open xDS streams, and REST pollers remembered (protocol=rest), by protocol (sotw, delta, rest) and service (ads, or the type of a per-type service).",
      labelNames: ["protocol", "service"],
      registers,
      collect() {
        this.reset();
        for (const c of services.values()) this.set(c.labels, c.open);
      },
    });
    counter("xdsd_streams_opened_total", "Streams opened, and REST pollers first seen, by protocol and service.", ["protocol", "service"], () =>
      [...services.values()].map((c) => [c.labels, c.opened]),
    );
    const byType = (help: string, value: (c: TypeCounts) => number, name: string) =>
      counter(name, help, ["protocol", "type"], () => [...types.values()].map((c) => [c.labels, value(c)]));
    byType("Discovery requests received, by protocol and resource type (unknown: a type xdsd does not serve).", (c) => c.requests, "xdsd_requests_total");
    counter(
      "xdsd_responses_total",
      "Responses sent, by protocol, resource type and kind (update: new content or a first answer; heartbeat: a TTL refresh).",
      ["protocol", "type", "kind"],
      () =>
        [...types.values()].flatMap((c) => [
          [{ ...c.labels, kind: "update" }, c.updates],
          [{ ...c.labels, kind: "heartbeat" }, c.heartbeats],
        ]),
    );
    byType(
      "Bytes of responses sent: the encoded (Delta)DiscoveryResponse without gRPC and HTTP/2 framing, or the JSON body of a REST 200.",
      (c) => c.bytes,
      "xdsd_response_bytes_total",
    );
    byType("Responses acknowledged (ACK), by protocol and resource type.", (c) => c.acks, "xdsd_acks_total");
    byType("Responses rejected (NACK), by protocol and resource type; GET /nodes shows which node and why.", (c) => c.nacks, "xdsd_nacks_total");
    byType(
      "Requests not answered (stale nonce, unknown or unserved type, content the client rejected), by protocol and type.",
      (c) => c.ignored,
      "xdsd_ignored_requests_total",
    );
    counter(
      "xdsd_authorization_denied_total",
      "Streams ended with PERMISSION_DENIED and REST polls answered 403 because the client certificate's identity is not in the identities: of the config served to its node, by protocol (docs/security.md).",
      ["protocol"],
      () => [...self.#denied].map(([protocol, n]) => [{ protocol }, n]),
    );
    new Gauge({
      name: "xdsd_pushes_pending",
      help: "Streams told of a new snapshot that are waiting for their turn to push it (pushes are spread over event-loop turns).",
      registers,
      collect() {
        this.set(o.pendingPushes?.() ?? 0);
      },
    });
    const rolloutSeconds = new Histogram({
      name: "xdsd_publish_to_ack_seconds",
      help:
        "Seconds from a publish that changed the snapshot served to a node group until the last stream or REST poller of the group " +
        "connected at that moment had ACKed everything sent from it (a client that needed nothing counts once it has pushed or polled). " +
        "Observed only for rollouts ending acked (see xdsd_rollouts_total).",
      buckets: rolloutBuckets,
      registers,
    });
    counter(
      "xdsd_rollouts_total",
      "Publishes to node groups with connected clients, by how they ended: acked (all ACKed: observed in xdsd_publish_to_ack_seconds), nacked (a client rejected it), superseded (a newer publish came first), disconnected (every client left first).",
      ["result"],
      () => Object.entries(self.#rolloutResults).map(([result, n]) => [{ result }, n]),
    );
    new Gauge({
      name: "xdsd_rollouts_in_progress",
      help: "Node groups whose clients have not all settled on the latest publish yet.",
      registers,
      collect() {
        this.set(self.rollouts.inProgress);
      },
    });
    counter(
      "xdsd_store_writes_total",
      "Writes through the API (each request; a batch counts once) by result: committed (stored and published), invalid (the config would be invalid), conflict (If-Match did not hold), managed_by_file (a name the file defines), failed (anything else). Only committed writes change anything.",
      ["result"],
      () => Object.entries(self.#storeWrites).map(([result, n]) => [{ result }, n]),
    );
    counter(
      "xdsd_config_reloads_total",
      "Loads of the config file by result: published (valid, new content), unchanged (the content looked at last time, valid or not), rejected (invalid: the last good config stays).",
      ["result"],
      () => Object.entries(self.#reloads).map(([result, n]) => [{ result }, n]),
    );
    new Gauge({
      name: "xdsd_store_objects_shadowed",
      help: "Store objects not served because the config file defines their names or lists their endpoints (GET /config lists them). Each stays in the store until it is deleted.",
      registers,
      collect() {
        const state = o.config?.();
        if (state) this.set(state.shadowed?.length ?? 0);
      },
    });
    // The store's state (store-status.ts), as /healthz says it: none of these without a store status source.
    const store = (set: (status: StoreStatus) => number) =>
      function (this: Gauge) {
        const status = o.storeStatus?.();
        if (status) this.set(set(status));
      };
    new Gauge({
      name: "xdsd_store_up",
      help: "1 if the store answers, 0 while it does not (degraded: the last config is served, writes answer 503; /healthz says why). Label store: sqlite or etcd.",
      labelNames: ["store"],
      registers,
      collect() {
        const status = o.storeStatus?.();
        if (status) this.set({ store: status.kind }, status.state === "ok" ? 1 : 0);
      },
    });
    new Gauge({
      name: "xdsd_store_revision",
      help: "The store revision whose changes this daemon has applied: replicas at the same revision serve the same config.",
      registers,
      collect: store((s) => s.revision),
    });
    new Gauge({
      name: "xdsd_leader",
      help: "1 if this daemon runs the once-only duties (endpoint expiry): on etcd, the replica holding the leader lease; alone on SQLite, always.",
      registers,
      collect: store((s) => (s.leader ? 1 : 0)),
    });
    new Gauge({
      name: "xdsd_config_last_reload_successful",
      help: "1 if the config file's current content is what is served, 0 if its latest change was rejected.",
      registers,
      collect() {
        const state = o.config?.();
        if (state) this.set(state.lastError ? 0 : 1);
      },
    });
    new Gauge({
      name: "xdsd_config_last_reload_success_timestamp_seconds",
      help: "When the config being served was published (Unix time).",
      registers,
      collect() {
        const state = o.config?.();
        if (state) this.set(state.loadedAt.getTime() / 1000);
      },
    });
    new Gauge({
      name: "xdsd_config_info",
      help: "1, labelled with the version (content hash) of the config file being served.",
      labelNames: ["version"],
      registers,
      collect() {
        this.reset();
        const state = o.config?.();
        if (state) this.set({ version: state.version }, 1);
      },
    });
    new Gauge({
      name: "xdsd_snapshot_info",
      help: "1 per resource type of the default snapshot (served to nodes without a group of their own), labelled with the type's version.",
      labelNames: ["type", "version"],
      registers,
      collect() {
        this.reset();
        const snapshot = o.cache?.defaultSnapshot();
        if (!snapshot) return;
        for (const typeUrl of byPushOrder(snapshot.typeUrls())) {
          this.set({ type: findResourceType(typeUrl)?.short ?? typeUrl, version: snapshot.typeVersion(typeUrl) }, 1);
        }
      },
    });
    new Gauge({
      name: "xdsd_snapshot_resources",
      help: "Resources in the default snapshot, by type.",
      labelNames: ["type"],
      registers,
      collect() {
        this.reset();
        for (const [type, n] of Object.entries(o.cache?.defaultSnapshot()?.summary() ?? {})) this.set({ type }, n);
      },
    });
    new Gauge({
      name: "xdsd_node_groups",
      help: "Node groups with a snapshot of their own (the config's `nodes:` entries).",
      registers,
      collect() {
        if (o.cache) this.set(o.cache.keys().length);
      },
    });
    return rolloutSeconds;

    /** A counter whose values are the bookkeeping's numbers, copied at scrape time. */
    function counter<L extends string>(name: string, help: string, labelNames: L[], values: () => [Partial<Record<L, string>>, number][]): void {
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [labels, n] of values()) this.inc(labels, n);
        },
      });
    }
  }
}
