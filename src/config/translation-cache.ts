// What the daemon's reloads keep from one load to the next: the Envoy messages each config entry translated to
// (clusters, listeners) or decoded into (raw resources), keyed by the entry's content. A reload of a 500-cluster
// config in which one cluster changed translates one cluster; the other 999 messages are the same objects as
// before, so the snapshot does not encode them again either (encoded-resource.ts memoizes by message).
//
// Bounded by the config: a successful load keeps exactly the entries it used and drops the rest. A failed load
// changes nothing, so a bad edit does not evict what the next good one will need.
//
// Entries are kept per kind ("yaml" for a unit of text as read, "raw", "cluster", "listener" for what an entry
// became), each kind its own map keyed by the entry's text or content key: the key string itself is looked up, not
// a prefixed copy, so a unit's text (a 2 kB string for a raw cluster) is hashed once per load for all kinds.
export type TranslationKind = "yaml" | "raw" | "cluster" | "listener";

export class TranslationCache {
  // Each entry remembers the key it was stored under: a hit is carried over under that key, not under the string
  // it was looked up with (a view into a new config text, which would keep the whole text alive).
  #kept = new Map<TranslationKind, Map<string, { key: string; value: unknown }>>();
  #used = new Map<TranslationKind, Map<string, { key: string; value: unknown }>>();

  /** The value kept for `key` of `kind`, or undefined. */
  get<T>(kind: TranslationKind, key: string): T | undefined {
    const used = this.#used.get(kind);
    const entry = used?.get(key) ?? this.#kept.get(kind)?.get(key);
    if (entry === undefined) return undefined;
    if (used?.get(entry.key) !== entry) this.#usedOf(kind).set(entry.key, entry);
    return entry.value as T;
  }

  /** Whether a successful load used `key` of `kind` (what this load added so far does not count). */
  has(kind: TranslationKind, key: string): boolean {
    return this.#kept.get(kind)?.has(key) ?? false;
  }

  set(kind: TranslationKind, key: string, value: unknown): void {
    this.#usedOf(kind).set(key, { key, value });
  }

  #usedOf(kind: TranslationKind): Map<string, { key: string; value: unknown }> {
    let used = this.#used.get(kind);
    if (!used) this.#used.set(kind, (used = new Map()));
    return used;
  }

  /**
   * The load succeeded: keep what it used, drop the rest. A load that did not look at some kinds at all keeps what
   * was kept of those (`untouched`): a store write, which does not read the file's text, keeps its units ("yaml").
   */
  commit(untouched: readonly TranslationKind[] = []): void {
    for (const kind of untouched) {
      const kept = this.#kept.get(kind);
      if (kept) this.#used.set(kind, kept);
    }
    this.#kept = this.#used;
    this.#used = new Map();
  }

  /** The load failed: forget what it added. */
  discard(): void {
    this.#used = new Map();
  }

  /** Entries kept of the given kinds (every kind when none is given). */
  count(...kinds: TranslationKind[]): number {
    let n = 0;
    for (const [kind, m] of this.#kept) if (kinds.length === 0 || kinds.includes(kind)) n += m.size;
    return n;
  }
}
