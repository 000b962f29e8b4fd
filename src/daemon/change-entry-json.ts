// The JSON of the config history (GET /ui/api/changes): each version published, where it came from, what it changed
// and its rollout. Its own module, importing only what imports nothing, because two programs read it: the daemon,
// which keeps it (change-history.ts), and the dashboard, which shows it (ui/app.ts, type-checked without Node's types).
import type { RolloutResult } from "../server/observers/rollout-result.js";

/**
 * Where a published version came from: the config file (or the first load), a write of this daemon's API, or store
 * changes that arrived through the store's watch (another replica's writes, expiries).
 */
export type PublishSource = "file" | "api" | "store";

export interface ResourceChange {
  /** The node group (cache key), or "(default)". */
  group: string;
  /** Short type name (`cds`, `eds`…). */
  type: string;
  name: string;
  change: "added" | "modified" | "removed";
  /**
   * The resource as Envoy JSON before and after; absent for one that holds key material (resource/key-material.ts),
   * which is never shown.
   */
  before?: unknown;
  after?: unknown;
}

export interface RolloutRecord {
  /** Node groups with connected clients whose snapshot this version changed. */
  groups: number;
  /** Clients connected to them at the publish. */
  clients: number;
  settled: number;
  acked: number;
  /** When each ACK came, in ms after the publish, in order. */
  ackMs: number[];
  /** Groups whose rollout ended, by result. */
  results: Partial<Record<RolloutResult, number>>;
  /** Ms after the publish when the last group's rollout ended; absent while one is under way. */
  doneMs?: number;
}

export interface ChangeEntry {
  seq: number;
  version: string;
  source: PublishSource;
  /** Who made an API write: the admin token's name (never the token). */
  by?: string;
  /** ISO time of the publish. */
  at: string;
  /** Resources added, modified, removed: counts over every group. */
  counts: { added: number; modified: number; removed: number };
  changes: ResourceChange[];
  /** Changes past maxChangesShown, counted but not kept. */
  omitted: number;
  rollout: RolloutRecord;
}
