// What /healthz and /metrics say of the store (issue 20): its kind, whether it answers (ok, or degraded with the
// reason: the daemon serves its last snapshots and refuses writes meanwhile), the store revision the daemon has
// applied (replicas that agree on it serve the same config), and whether this daemon leads the once-only duties.
import type { StoreReachability } from "../store/store.js";
import type { Leadership } from "./leader.js";

export interface StoreStatus {
  readonly kind: "sqlite" | "etcd";
  readonly state: "ok" | "degraded";
  /** Why degraded, and since when (ISO 8601). */
  readonly reason?: string;
  readonly since?: string;
  /** The store revision whose changes the daemon has applied (its view of the store: ConfigReloader.storeRevision). */
  readonly revision: number;
  /** Whether this daemon runs the once-only duties (endpoint expiry) now. */
  readonly leader: boolean;
}

export interface StoreStatusSources {
  readonly kind: StoreStatus["kind"];
  /** Absent: the store always answers (SQLite). */
  readonly reachability?: () => StoreReachability;
  readonly revision: () => number;
  readonly leadership: Leadership;
}

/** The store's status now. */
export function storeStatus(o: StoreStatusSources): StoreStatus {
  const reach = o.reachability?.();
  const base = { kind: o.kind, revision: o.revision(), leader: o.leadership.isLeader };
  if (!reach || reach.reachable) return { ...base, state: "ok" };
  return {
    ...base,
    state: "degraded",
    reason: `the store does not answer: ${reach.reason ?? "unknown"}. Serving the last config (store revision ${base.revision}) to every proxy; writes answer 503 until it is back`,
    since: reach.since.toISOString(),
  };
}
