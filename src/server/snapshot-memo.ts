// What the server derives from a snapshot and shares between streams — the resources a subscription covers, their
// version, the versions a response sent, encoded response bodies — kept beside the snapshot (weakly: it goes when
// the snapshot does), so that a push of one snapshot to a thousand streams subscribed alike computes each value
// once. This is the server's memory, not the cache's: the cache's Snapshot knows nothing of subscriptions or
// response encodings.
//
// Bounded per snapshot in entries and in an estimate of bytes. Keys are subscription keys, as long as the names
// subscribed; a count bound alone let clients with huge, distinct subscriptions grow the memo of a long-lived
// snapshot without limit (found by the daemon fuzz run). Two levels (namespace, then key) so that a long key can be
// passed as the same string object each time, which V8 hashes once, instead of a new concatenation per lookup.
import type { Snapshot } from "../cache/snapshot.js";

const memoLimit = 4096;
const memoWeightLimit = 64 * 1024 * 1024;

export class SnapshotMemo {
  readonly #values = new Map<string, Map<string, unknown>>();
  #size = 0;
  #weight = 0;

  /**
   * The value for (namespace, key), computed once. `weight` estimates the value's bytes (key characters and the
   * entry itself are counted anyway); past either bound the memo starts over.
   */
  get<T>(namespace: string, key: string, compute: () => T, weight?: (value: T) => number): T {
    let inner = this.#values.get(namespace);
    if (!inner) this.#values.set(namespace, (inner = new Map()));
    if (inner.has(key)) return inner.get(key) as T;
    const value = compute();
    const cost = key.length + (weight?.(value) ?? 0) + 64;
    if (this.#size >= memoLimit || this.#weight + cost > memoWeightLimit) {
      this.#values.clear();
      this.#size = 0;
      this.#weight = 0;
      this.#values.set(namespace, (inner = new Map()));
    }
    inner.set(key, value);
    this.#size++;
    this.#weight += cost;
    return value;
  }
}

const memos = new WeakMap<Snapshot, SnapshotMemo>();

/** The server's memo for `snapshot`. */
export function memoOf(snapshot: Snapshot): SnapshotMemo {
  let memo = memos.get(snapshot);
  if (!memo) memos.set(snapshot, (memo = new SnapshotMemo()));
  return memo;
}
