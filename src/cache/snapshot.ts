// A snapshot: the complete, immutable set of resources one group of nodes is served, by type and name, each
// already encoded. Snapshots are cheap to compare: every resource carries a content version.
import type { Message } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { encodeResource, isEncodedResource, type EncodedResource } from "../resource/encoded-resource.js";
import { findResourceType } from "../resource/types.js";
import { DuplicateResourceError, type MissingReference } from "../errors.js";
import { IdentityMatcher } from "./identity-patterns.js";

type ResourcesByName = ReadonlyMap<string, EncodedResource>;

const empty: ResourcesByName = new Map();

/** changesSince results kept per snapshot: a push compares with the snapshot before it, rarely more. */
const changesLimit = 64;

let nextSnapshotId = 1;

/**
 * One matcher per list: the groups of a config that inherit the top level's `identities:` share its list (and
 * share it still after crossing from the config worker: structured cloning keeps shared objects shared), so a
 * load compiles each list once, not once per group.
 */
const matchers = new WeakMap<readonly string[], IdentityMatcher>();
function matcherOf(readers: readonly string[]): IdentityMatcher {
  let matcher = matchers.get(readers);
  if (!matcher) matchers.set(readers, (matcher = new IdentityMatcher(readers)));
  return matcher;
}

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
  /** Per type, the XOR of its entries' hashes (versionOfSet), kept so that a derived snapshot updates it. */
  readonly #setHashes = new Map<string, SetHash>();
  readonly #changes = new Map<string, TypeChanges>();
  /** Identifies the snapshot in memo keys of snapshots derived later. */
  readonly id = nextSnapshotId++;
  /**
   * For a snapshot made by `update()`: its parent's id and what changed per type, so that changesSince(parent),
   * the type versions and the consistency check cost what changed, not what the snapshot holds. Only the id is
   * kept, never the parent itself: a long chain of updates must not keep every ancestor alive.
   */
  #derived: { parentId: number; changes: Map<string, TypeChanges> } | undefined;
  /** Known to have no missing references (checked, or derived from a checked snapshot by changes that keep it so). */
  #consistent = false;

  private constructor(
    byType: Map<string, Map<string, EncodedResource>>,
    /**
     * Who may be served this snapshot: its node group's `identities:` (identity-patterns.ts), compiled once with
     * the snapshot; undefined, every client. Enforced by the server only with client certificates
     * (server/authorization.ts). It travels with the resources so that a config load changes both at once.
     */
    readonly readers: IdentityMatcher | undefined,
  ) {
    this.#byType = byType;
  }

  /**
   * Builds a snapshot from messages (encoded here) or resources encoded before. Two resources of one type with the
   * same name are refused: a client NACKs a response that carries both.
   */
  static from(resources: Iterable<Message | EncodedResource>, readers?: readonly string[]): Snapshot {
    const byType = new Map<string, Map<string, EncodedResource>>();
    for (const r of resources) {
      const encoded = isEncodedResource(r) ? r : encodeResource(r);
      let names = byType.get(encoded.typeUrl);
      if (!names) byType.set(encoded.typeUrl, (names = new Map()));
      if (names.has(encoded.name)) throw new DuplicateResourceError(encoded.typeUrl, encoded.name);
      names.set(encoded.name, encoded);
    }
    return new Snapshot(byType, readers && matcherOf(readers));
  }

  /**
   * A new snapshot: this one with `upsert` added or replaced and `remove` taken out. Resources that did not change
   * keep their encoded bytes, so a change of one resource among thousands encodes one resource (go-control-plane
   * issue #546: setting resources one by one re-hashed everything each time). It keeps this snapshot's readers, or
   * takes `change.readers` when given (null: every client).
   */
  update(change: {
    upsert?: Iterable<Message | EncodedResource>;
    remove?: Iterable<{ typeUrl: string; name: string }>;
    readers?: readonly string[] | null;
  }): Snapshot {
    // Copy on write: only the maps of the types that change are copied.
    const byType = new Map<string, Map<string, EncodedResource>>(this.#byType as Map<string, Map<string, EncodedResource>>);
    const copied = new Set<string>();
    const own = (typeUrl: string) => {
      if (!copied.has(typeUrl)) {
        copied.add(typeUrl);
        byType.set(typeUrl, new Map(this.#byType.get(typeUrl) ?? empty));
      }
      return byType.get(typeUrl)!;
    };
    const changed = new Map<string, Map<string, EncodedResource>>();
    const removed = new Map<string, Set<string>>();
    for (const { typeUrl, name } of change.remove ?? []) {
      if (!this.resources(typeUrl).has(name)) continue;
      own(typeUrl).delete(name);
      let names = removed.get(typeUrl);
      if (!names) removed.set(typeUrl, (names = new Set()));
      names.add(name);
    }
    const upserted = new Set<string>();
    for (const r of change.upsert ?? []) {
      const encoded = isEncodedResource(r) ? r : encodeResource(r);
      const key = `${encoded.typeUrl}\u0000${encoded.name}`;
      if (upserted.has(key)) throw new DuplicateResourceError(encoded.typeUrl, encoded.name);
      upserted.add(key);
      const before = this.resources(encoded.typeUrl).get(encoded.name);
      own(encoded.typeUrl).set(encoded.name, encoded);
      removed.get(encoded.typeUrl)?.delete(encoded.name);
      if (before === encoded || before?.version === encoded.version) continue;
      let names = changed.get(encoded.typeUrl);
      if (!names) changed.set(encoded.typeUrl, (names = new Map()));
      names.set(encoded.name, encoded);
    }
    for (const typeUrl of copied) if (byType.get(typeUrl)!.size === 0) byType.delete(typeUrl);
    const readers = change.readers === undefined ? this.readers : change.readers === null ? undefined : matcherOf(change.readers);
    const next = new Snapshot(byType, readers);
    const changes = new Map<string, TypeChanges>();
    for (const typeUrl of new Set([...changed.keys(), ...removed.keys()])) {
      changes.set(typeUrl, { changed: [...(changed.get(typeUrl)?.values() ?? [])], removed: [...(removed.get(typeUrl) ?? [])] });
    }
    next.#derived = { parentId: this.id, changes };
    // Type versions: from this snapshot's set hashes, by what changed (the untouched types keep theirs).
    for (const [typeUrl, hash] of this.#setHashes) {
      const c = changes.get(typeUrl);
      if (!c) {
        next.#setHashes.set(typeUrl, hash);
        continue;
      }
      const h = hash.slice();
      const before = this.resources(typeUrl);
      for (const name of c.removed) xorInto(h, entryHash(before.get(name)!));
      for (const r of c.changed) {
        const old = before.get(r.name);
        if (old) xorInto(h, entryHash(old));
        xorInto(h, entryHash(r));
      }
      next.#setHashes.set(typeUrl, h);
    }
    // Adding and replacing resources keeps a consistent snapshot consistent if what they reference is there; a
    // removal could break a reference to what it removed, so it is checked in full.
    if (this.#consistent && removed.size === 0) {
      next.#consistent = [...changed.values()].every((names) =>
        [...names.values()].every((r) => r.references.every((ref) => next.resources(ref.typeUrl).has(ref.name))),
      );
    }
    return next;
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
      let hash = this.#setHashes.get(typeUrl);
      if (!hash) this.#setHashes.set(typeUrl, (hash = setHash(this.resources(typeUrl).values())));
      v = encodeSetHash(hash);
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
    if (this.#derived?.parentId === previous.id) return this.#derived.changes.get(typeUrl) ?? noChanges;
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
    if (this.#consistent) return [];
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
    this.#consistent = missing.length === 0;
    return missing;
  }

  /** Count of resources per known short type name, for logs and the admin API. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [typeUrl, names] of this.#byType) out[findResourceType(typeUrl)?.short ?? typeUrl] = names.size;
    return out;
  }
}

/**
 * A version for a set of resources: the XOR of a hash of each (name, version) pair. Order does not matter, and a
 * snapshot derived by `update()` computes its type versions from its parent's by what changed, so a one-endpoint
 * change in 5,000 clusters does not hash 5,000 entries. Names are unique in a set, so no entry cancels another.
 */
export function versionOfSet(resources: Iterable<EncodedResource>): string {
  return encodeSetHash(setHash(resources));
}

/** 128 bits, as four 32-bit words. */
type SetHash = Uint32Array;

const noChanges: TypeChanges = { changed: [], removed: [] };
const entryHashes = new WeakMap<EncodedResource, SetHash>();

function entryHash(r: EncodedResource): SetHash {
  let h = entryHashes.get(r);
  if (!h) {
    const digest = createHash("sha256").update(r.name).update("\u0000").update(r.version).digest();
    entryHashes.set(r, (h = new Uint32Array(digest.buffer.slice(digest.byteOffset, digest.byteOffset + 16))));
  }
  return h;
}

function xorInto(into: SetHash, h: SetHash): void {
  for (let i = 0; i < 4; i++) into[i] ^= h[i];
}

function setHash(resources: Iterable<EncodedResource>): SetHash {
  const h = new Uint32Array(4);
  for (const r of resources) xorInto(h, entryHash(r));
  return h;
}

/** 64 of the 128 bits, base64url: the same length as a resource's content hash. */
function encodeSetHash(h: SetHash): string {
  return Buffer.from(h.buffer, h.byteOffset, 8).toString("base64url");
}
