// A snapshot: the complete, immutable set of resources one group of nodes is served, by type and name, each
// already encoded. Snapshots are cheap to compare: every resource carries a content version.
import type { Message } from "@bufbuild/protobuf";
import { contentHash, encodeResource, isEncodedResource, type EncodedResource } from "../resource/encoded-resource.js";
import { findResourceType } from "../resource/types.js";
import { DuplicateResourceError, type MissingReference } from "../errors.js";

type ResourcesByName = ReadonlyMap<string, EncodedResource>;

const empty: ResourcesByName = new Map();

/** changesSince results kept per snapshot: a push compares with the snapshot before it, rarely more. */
const changesLimit = 64;

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
  readonly #changes = new Map<string, TypeChanges>();
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
      const encoded = isEncodedResource(r) ? r : encodeResource(r);
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
      const encoded = isEncodedResource(r) ? r : encodeResource(r);
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
    const key = `${previous.id}\u0000${typeUrl}`;
    let changes = this.#changes.get(key);
    if (changes) return changes;
    const before = previous.resources(typeUrl);
    const now = this.resources(typeUrl);
    const changed: EncodedResource[] = [];
    const removed: string[] = [];
    for (const [name, r] of now) {
      const old = before.get(name);
      if (old !== r && old?.version !== r.version) changed.push(r);
    }
    for (const name of before.keys()) if (!now.has(name)) removed.push(name);
    if (this.#changes.size >= changesLimit) this.#changes.clear();
    this.#changes.set(key, (changes = { changed, removed }));
    return changes;
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
