// A snapshot: the complete, immutable set of resources one group of nodes is served, by type and name, each
// already encoded. Snapshots are cheap to compare: every resource carries a content version.
import type { Message } from "@bufbuild/protobuf";
import { contentHash, encodeResource, type EncodedResource } from "../resource/encoded-resource.js";
import { findResourceType } from "../resource/types.js";
import { DuplicateResourceError, type MissingReference } from "../errors.js";

type ResourcesByName = ReadonlyMap<string, EncodedResource>;

const empty: ResourcesByName = new Map();

/**
 * Bounds on memoized derived values (response bodies, subset versions) kept per snapshot: in entries, and in an
 * estimate of their bytes. Keys are subscription keys, as long as the names subscribed; a count bound alone let
 * clients with huge, distinct subscriptions grow the heap of a long-lived snapshot without limit (found by fuzzing).
 */
const memoLimit = 4096;
const memoWeightLimit = 64 * 1024 * 1024;

let nextSnapshotId = 1;

/** What changed in one type between two snapshots. */
export interface TypeChanges {
  /** Resources added or whose content changed. */
  changed: readonly EncodedResource[];
  /** Names no longer present. */
  removed: readonly string[];
}

export class Snapshot {
  readonly #byType: ReadonlyMap<string, ResourcesByName>;
  readonly #typeVersions = new Map<string, string>();
  readonly #memo = new Map<string, Map<string, unknown>>();
  #memoSize = 0;
  #memoWeight = 0;
  /** Identifies the snapshot in memo keys of snapshots derived later. */
  readonly id = nextSnapshotId++;

  private constructor(byType: Map<string, Map<string, EncodedResource>>) {
    this.#byType = byType;
  }

  /**
   * Builds a snapshot from messages (encoded here) or resources encoded before. Two resources of one type with the
   * same name are refused: a client NACKs a response that carries both.
   */
  static from(resources: Iterable<Message | EncodedResource>): Snapshot {
    const byType = new Map<string, Map<string, EncodedResource>>();
    for (const r of resources) {
      const encoded = isEncoded(r) ? r : encodeResource(r);
      let names = byType.get(encoded.typeUrl);
      if (!names) byType.set(encoded.typeUrl, (names = new Map()));
      if (names.has(encoded.name)) throw new DuplicateResourceError(encoded.typeUrl, encoded.name);
      names.set(encoded.name, encoded);
    }
    return new Snapshot(byType);
  }

  /**
   * A new snapshot: this one with `upsert` added or replaced and `remove` taken out. Resources that did not change
   * keep their encoded bytes, so a change of one resource among thousands encodes one resource (go-control-plane
   * issue #546: setting resources one by one re-hashed everything each time).
   */
  update(change: { upsert?: Iterable<Message | EncodedResource>; remove?: Iterable<{ typeUrl: string; name: string }> }): Snapshot {
    const byType = new Map<string, Map<string, EncodedResource>>();
    for (const [typeUrl, names] of this.#byType) byType.set(typeUrl, new Map(names));
    for (const { typeUrl, name } of change.remove ?? []) byType.get(typeUrl)?.delete(name);
    const upserted = new Set<string>();
    for (const r of change.upsert ?? []) {
      const encoded = isEncoded(r) ? r : encodeResource(r);
      const key = `${encoded.typeUrl}\u0000${encoded.name}`;
      if (upserted.has(key)) throw new DuplicateResourceError(encoded.typeUrl, encoded.name);
      upserted.add(key);
      let names = byType.get(encoded.typeUrl);
      if (!names) byType.set(encoded.typeUrl, (names = new Map()));
      names.set(encoded.name, encoded);
    }
    return new Snapshot(byType);
  }

  /** The resources of one type, by name. */
  resources(typeUrl: string): ResourcesByName {
    return this.#byType.get(typeUrl) ?? empty;
  }

  typeUrls(): string[] {
    return [...this.#byType.keys()];
  }

  /** Version of all resources of a type: changes whenever any of them changes, is added or removed. */
  typeVersion(typeUrl: string): string {
    let v = this.#typeVersions.get(typeUrl);
    if (v === undefined) {
      v = versionOfSet([...this.resources(typeUrl).values()]);
      this.#typeVersions.set(typeUrl, v);
    }
    return v;
  }

  /**
   * What changed in a type since `previous`. Computed once per pair and shared: when a change is pushed to a
   * thousand streams that all had `previous`, each of them looks at the few changed resources only.
   */
  changesSince(previous: Snapshot, typeUrl: string): TypeChanges {
    return this.memo(`changes\u0000${typeUrl}`, String(previous.id), () => {
      const before = previous.resources(typeUrl);
      const now = this.resources(typeUrl);
      const changed: EncodedResource[] = [];
      const removed: string[] = [];
      for (const [name, r] of now) {
        const old = before.get(name);
        if (old !== r && old?.version !== r.version) changed.push(r);
      }
      for (const name of before.keys()) if (!now.has(name)) removed.push(name);
      return { changed, removed };
    });
  }

  /** Every reference (Cluster → its ClusterLoadAssignment, Listener → its RouteConfiguration…) that is missing. */
  missingReferences(): MissingReference[] {
    const missing: MissingReference[] = [];
    for (const names of this.#byType.values()) {
      for (const r of names.values()) {
        for (const ref of r.references) {
          if (!this.resources(ref.typeUrl).has(ref.name)) {
            missing.push({ fromType: r.typeUrl, from: r.name, toType: ref.typeUrl, to: ref.name });
          }
        }
      }
    }
    return missing;
  }

  /**
   * A value derived from this snapshot (a response body for a subscription, say), computed once and shared by
   * every stream that asks with the same namespace and key. It lives as long as the snapshot; at most `memoLimit`
   * are kept (or about 64 MiB by `weight`, an estimate of the value's bytes). Two levels so that a long key (a subscription of thousands of names) can be passed as the same string
   * object each time, which V8 hashes once, instead of being concatenated into a new string on every lookup.
   */
  memo<T>(namespace: string, key: string, compute: () => T, weight?: (value: T) => number): T {
    let inner = this.#memo.get(namespace);
    if (!inner) this.#memo.set(namespace, (inner = new Map()));
    if (inner.has(key)) return inner.get(key) as T;
    const value = compute();
    // Key characters, the value's own estimate, and a little for the map entry.
    const cost = key.length + (weight?.(value) ?? 0) + 64;
    if (this.#memoSize >= memoLimit || this.#memoWeight + cost > memoWeightLimit) {
      this.#memo.clear();
      this.#memoSize = 0;
      this.#memoWeight = 0;
      this.#memo.set(namespace, (inner = new Map()));
    }
    inner.set(key, value);
    this.#memoSize++;
    this.#memoWeight += cost;
    return value;
  }

  /** Count of resources per known short type name, for logs and the admin API. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [typeUrl, names] of this.#byType) out[findResourceType(typeUrl)?.short ?? typeUrl] = names.size;
    return out;
  }
}

/** A version for a set of resources: a hash of their (name, version) pairs in name order. */
export function versionOfSet(resources: readonly EncodedResource[]): string {
  const parts = resources.map((r) => `${r.name}\u0000${r.version}`).sort();
  return contentHash(parts.join("\u0001"));
}

function isEncoded(r: Message | EncodedResource): r is EncodedResource {
  return "any" in r && "version" in r && "references" in r && !("$typeName" in r);
}
