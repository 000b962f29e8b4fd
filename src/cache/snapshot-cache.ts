// The snapshot cache: node group key → snapshot, plus a default snapshot for keys that have none, and the watches
// of the streams serving those keys. It knows nothing of the protocol: a watcher is told "your snapshot changed"
// and works out itself what its client needs.
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import { SnapshotInconsistentError } from "../errors.js";
import { clusterSlashId, type NodeHash } from "./node-hash.js";
import type { Snapshot } from "./snapshot.js";

export type SnapshotListener = (snapshot: Snapshot) => void;

/** What a stream needs from a cache. Narrow, so that a custom cache or a test fake is easy to write. */
export interface SnapshotSource {
  nodeKey(node: Node): string;
  /** The snapshot served to a key: its own, else the default, else undefined. */
  snapshotFor(key: string): Snapshot | undefined;
  /** Calls `listener` whenever the snapshot served to `key` changes. Returns the cancel function. */
  watch(key: string, listener: SnapshotListener): () => void;
}

export interface SnapshotCacheOptions {
  /** Maps a node to the key of its snapshot. Default: `<node.cluster>/<node.id>`. */
  nodeHash?: NodeHash;
}

export class SnapshotCache implements SnapshotSource {
  readonly #nodeHash: NodeHash;
  readonly #snapshots = new Map<string, Snapshot>();
  #default: Snapshot | undefined;
  readonly #watchers = new Map<string, Set<SnapshotListener>>();
  readonly #publishListeners = new Set<() => void>();

  constructor(options: SnapshotCacheOptions = {}) {
    this.#nodeHash = options.nodeHash ?? clusterSlashId;
  }

  nodeKey(node: Node): string {
    return this.#nodeHash(node);
  }

  /**
   * Publishes a snapshot for a key and pushes it to every stream watching that key. An inconsistent snapshot (a
   * Cluster whose endpoints, or a Listener whose routes, are missing) is refused: it would leave clients warming
   * until their init timeout, so it never replaces what is served.
   */
  setSnapshot(key: string, snapshot: Snapshot): void {
    assertConsistent(snapshot);
    this.#snapshots.set(key, snapshot);
    this.#published();
    this.#notify(key, snapshot);
  }

  /** Publishes several snapshots at once; all are checked before any is published. */
  setSnapshots(entries: Iterable<[string, Snapshot]>): void {
    const list = [...entries];
    for (const [, s] of list) assertConsistent(s);
    for (const [key, s] of list) this.#snapshots.set(key, s);
    this.#published();
    for (const [key, s] of list) this.#notify(key, s);
  }

  /** The snapshot for nodes that have none of their own. */
  setDefaultSnapshot(snapshot: Snapshot | undefined): void {
    if (snapshot) assertConsistent(snapshot);
    this.#default = snapshot;
    this.#published();
    if (!snapshot) return;
    for (const key of this.#watchers.keys()) if (!this.#snapshots.has(key)) this.#notify(key, snapshot);
  }

  /** Drops a key's own snapshot: its nodes fall back to the default one (and are pushed it, if there is one). */
  clearSnapshot(key: string): void {
    if (!this.#snapshots.delete(key)) return;
    this.#published();
    if (this.#default) this.#notify(key, this.#default);
  }

  /** Replaces all per-key snapshots and the default at once, as a config reload does. */
  replaceAll(defaultSnapshot: Snapshot | undefined, perKey: ReadonlyMap<string, Snapshot>): void {
    if (defaultSnapshot) assertConsistent(defaultSnapshot);
    for (const s of perKey.values()) assertConsistent(s);
    const before = new Map([...this.#watchers.keys()].map((k) => [k, this.snapshotFor(k)]));
    this.#snapshots.clear();
    for (const [k, s] of perKey) this.#snapshots.set(k, s);
    this.#default = defaultSnapshot;
    this.#published();
    for (const [key, old] of before) {
      const now = this.snapshotFor(key);
      if (now && now !== old) this.#notify(key, now);
    }
  }

  snapshotFor(key: string): Snapshot | undefined {
    return this.#snapshots.get(key) ?? this.#default;
  }

  /** The keys that have a snapshot of their own. */
  keys(): string[] {
    return [...this.#snapshots.keys()];
  }

  defaultSnapshot(): Snapshot | undefined {
    return this.#default;
  }

  watch(key: string, listener: SnapshotListener): () => void {
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#watchers.get(key);
      if (!s) return;
      s.delete(listener);
      // Free the key's bookkeeping with its last watcher: memory must return to baseline when proxies leave.
      if (s.size === 0) this.#watchers.delete(key);
    };
  }

  /**
   * Calls `listener` after every change of what is served (each method above), before any watcher is told of it:
   * the metrics observer (daemon/metrics.ts) stamps the publish time before the first response computed
   * from the new snapshot goes out. It must be cheap and must not throw. Returns the cancel function.
   */
  onPublish(listener: () => void): () => void {
    this.#publishListeners.add(listener);
    return () => this.#publishListeners.delete(listener);
  }

  /** Number of keys with at least one watcher (for metrics and leak tests). */
  watchedKeyCount(): number {
    return this.#watchers.size;
  }

  #published(): void {
    for (const listener of this.#publishListeners) listener();
  }

  #notify(key: string, snapshot: Snapshot): void {
    const set = this.#watchers.get(key);
    if (!set) return;
    for (const listener of [...set]) listener(snapshot);
  }
}

function assertConsistent(snapshot: Snapshot): void {
  const missing = snapshot.missingReferences();
  if (missing.length > 0) throw new SnapshotInconsistentError(missing);
}
