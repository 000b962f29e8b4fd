// What the daemon's reloads keep from one load to the next: the Envoy messages each config entry translated to
// (clusters, listeners) or decoded into (raw resources), keyed by the entry's content. A reload of a 500-cluster
// config in which one cluster changed translates one cluster; the other 999 messages are the same objects as
// before, so the snapshot does not encode them again either (encoded-resource.ts memoizes by message).
//
// Bounded by the config: a successful load keeps exactly the entries it used and drops the rest. A failed load
// changes nothing, so a bad edit does not evict what the next good one will need.
export class TranslationCache {
  #kept = new Map<string, unknown>();
  #used = new Map<string, unknown>();

  /** The value kept for `key`, or undefined. */
  get<T>(key: string): T | undefined {
    const value = (this.#used.get(key) ?? this.#kept.get(key)) as T | undefined;
    if (value !== undefined) this.#used.set(key, value);
    return value;
  }

  set(key: string, value: unknown): void {
    this.#used.set(key, value);
  }

  /** The load succeeded: keep what it used, drop the rest. */
  commit(): void {
    this.#kept = this.#used;
    this.#used = new Map();
  }

  /** The load failed: forget what it added. */
  discard(): void {
    this.#used = new Map();
  }

  get size(): number {
    return this.#kept.size;
  }
}
