// The config history the dashboard's Changes page shows (issue 22): each version published, where it came from (the
// file, this daemon's API, the store's watch), which resources it added, changed or removed in which node group (with
// their content before and after), and its rollout — how many of the proxies it concerned ACKed it, and when.
// Bounded: the latest `size` versions, at most `maxChangesShown` resources with content each; older ones are dropped.
// Fed by the reloader (ConfigReloaderOptions.onPublished) and by the rollouts (Rollouts.observe), both synchronously
// after the cache has the new snapshots: a publish walks the resources of the groups whose snapshot is another one,
// comparing versions (content hashes), and converts to JSON only what changed.
import { toJson } from "@bufbuild/protobuf";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import type { Snapshot } from "../cache/snapshot.js";
import { envoyRegistry } from "../resource/proto-registry.js";
import { resourceType } from "../resource/types.js";
import { holdsKeyMaterial } from "../resource/key-material.js";
import type { RolloutObserver, RolloutResult } from "../server/observers/rollouts.js";
import type { ChangeEntry, PublishSource, ResourceChange, RolloutRecord } from "./change-entry-json.js";

export type { ChangeEntry, ResourceChange, RolloutRecord };

/** How many published versions the history keeps by default (docs/limits.md). */
export const defaultChangeHistorySize = 100;
/** Of one version, the resources whose content is kept (the others are counted): an answer to a person, not a dump. */
export const maxChangesShown = 50;

/** The name /config gives the default snapshot's group. */
const defaultGroup = "(default)";

export interface ChangeHistoryOptions {
  cache: SnapshotCache;
  /** Versions kept (default defaultChangeHistorySize). */
  size?: number;
  /** Wall clock in ms; tests pass a fake. */
  now?: () => number;
  /** Told of every entry added or updated (the dashboard's live feed). Must not throw. */
  onChange?(seq: number): void;
}

export class ChangeHistory implements RolloutObserver {
  readonly #entries: ChangeEntry[] = [];
  readonly #size: number;
  readonly #now: () => number;
  #seq = 0;
  /** The snapshots served before the latest publish, by group: what the next one is compared with. */
  #served = new Map<string, Snapshot>();
  /** Rollouts started by a publish not yet recorded (the rollouts start inside the cache's publish, before it). */
  #unclaimed: { seq: number; clients: number }[] = [];
  /** Rollout seq → the entry that started it (entries dropped from the history are dropped here too). */
  readonly #byRollout = new Map<number, ChangeEntry>();
  readonly #startedAt = new WeakMap<ChangeEntry, number>();
  /** Rollouts of each entry still under way. */
  readonly #open = new WeakMap<ChangeEntry, number>();

  constructor(private readonly o: ChangeHistoryOptions) {
    this.#size = o.size ?? defaultChangeHistorySize;
    this.#now = o.now ?? Date.now;
    this.#served = this.#current();
  }

  /** Newest first. */
  list(): readonly ChangeEntry[] {
    return [...this.#entries].reverse();
  }

  get(seq: number): ChangeEntry | undefined {
    return this.#entries.find((e) => e.seq === seq);
  }

  /** For ConfigReloaderOptions.onPublished: records `version`, compared with what was served before. */
  published(version: string, source: PublishSource, by?: string): void {
    const at = this.#now();
    const now = this.#current();
    const entry: ChangeEntry = {
      seq: ++this.#seq,
      version,
      source,
      ...(by === undefined ? {} : { by }),
      at: new Date(at).toISOString(),
      counts: { added: 0, modified: 0, removed: 0 },
      changes: [],
      omitted: 0,
      rollout: { groups: 0, clients: 0, settled: 0, acked: 0, ackMs: [], results: {} },
    };
    for (const group of new Set([...this.#served.keys(), ...now.keys()])) {
      const before = this.#served.get(group);
      const after = now.get(group);
      if (before !== after) this.#compare(entry, group, before, after);
    }
    this.#served = now;
    this.#startedAt.set(entry, at);
    this.#open.set(entry, this.#unclaimed.length);
    for (const r of this.#unclaimed) {
      entry.rollout.groups++;
      entry.rollout.clients += r.clients;
      this.#byRollout.set(r.seq, entry);
    }
    this.#unclaimed = [];
    this.#entries.push(entry);
    while (this.#entries.length > this.#size) {
      const dropped = this.#entries.shift()!;
      for (const [seq, e] of this.#byRollout) if (e === dropped) this.#byRollout.delete(seq);
    }
    this.o.onChange?.(entry.seq);
  }

  started(seq: number, _key: string, clients: number): void {
    this.#unclaimed.push({ seq, clients });
  }

  settled(seq: number, _key: string, acked: boolean): void {
    const entry = this.#byRollout.get(seq);
    if (!entry) return;
    entry.rollout.settled++;
    if (acked) {
      entry.rollout.acked++;
      entry.rollout.ackMs.push(this.#now() - this.#startedAt.get(entry)!);
    }
    this.o.onChange?.(entry.seq);
  }

  finished(seq: number, _key: string, result: RolloutResult): void {
    const entry = this.#byRollout.get(seq);
    if (!entry) return;
    this.#byRollout.delete(seq);
    entry.rollout.results[result] = (entry.rollout.results[result] ?? 0) + 1;
    const open = this.#open.get(entry)! - 1;
    this.#open.set(entry, open);
    if (open === 0) entry.rollout.doneMs = this.#now() - this.#startedAt.get(entry)!;
    this.o.onChange?.(entry.seq);
  }

  #current(): Map<string, Snapshot> {
    const { cache } = this.o;
    const out = new Map<string, Snapshot>();
    const def = cache.defaultSnapshot();
    if (def) out.set(defaultGroup, def);
    for (const key of cache.keys()) out.set(key, cache.snapshotFor(key)!);
    return out;
  }

  #compare(entry: ChangeEntry, group: string, before: Snapshot | undefined, after: Snapshot | undefined): void {
    const registry = envoyRegistry();
    for (const typeUrl of new Set([...(before?.typeUrls() ?? []), ...(after?.typeUrls() ?? [])])) {
      const type = resourceType(typeUrl);
      const was = before?.resources(typeUrl);
      const is = after?.resources(typeUrl);
      if (was === is) continue;
      const add = (change: ResourceChange["change"], name: string) => {
        entry.counts[change]++;
        if (entry.changes.length >= maxChangesShown) return void entry.omitted++;
        const old = was?.get(name);
        const neu = is?.get(name);
        entry.changes.push({
          group,
          type: type.short,
          name,
          change,
          // Key material is never kept: such a resource's content is left out, as CSDS leaves it out (key-material.ts).
          ...(old && !holdsKeyMaterial(typeUrl, old.any) ? { before: toJson(type.schema, old.message, { registry }) } : {}),
          ...(neu && !holdsKeyMaterial(typeUrl, neu.any) ? { after: toJson(type.schema, neu.message, { registry }) } : {}),
        });
      };
      for (const [name, r] of is ?? []) {
        const old = was?.get(name);
        if (!old) add("added", name);
        else if (old.version !== r.version) add("modified", name);
      }
      for (const name of was?.keys() ?? []) if (!is?.has(name)) add("removed", name);
    }
  }
}
