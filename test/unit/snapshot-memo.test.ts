// The server's memo of values derived from a snapshot (server/snapshot-memo.ts) is bounded in bytes as well as entries: its keys are subscription keys,
// as long as the subscribed names, so clients with huge distinct subscriptions used to grow a long-lived snapshot's
// memo by megabytes per stream (found by the daemon fuzz run: 134 → 282 MB RSS, heap growing every round).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../../src/cache/snapshot.js";
import { memoOf } from "../../src/server/snapshot-memo.js";

test("memo entries with large keys are evicted once their weight passes the bound", () => {
  const snapshot = memoOf(Snapshot.from([]));
  let computed = 0;
  const key = (i: number) => `${i}:`.padEnd(1024 * 1024, "x"); // a 1 MiB subscription key
  for (let i = 0; i < 100; i++) snapshot.get("ns", key(i), () => ++computed);
  assert.equal(computed, 100);
  // The first entries are gone (recomputed), the last one is still there.
  snapshot.get("ns", key(99), () => ++computed);
  assert.equal(computed, 100, "the newest entry is kept");
  snapshot.get("ns", key(0), () => ++computed);
  assert.equal(computed, 101, "an entry from before the bound was reached is recomputed");
});

test("a value's own weight counts toward the bound", () => {
  const snapshot = memoOf(Snapshot.from([]));
  let computed = 0;
  for (let i = 0; i < 10; i++)
    snapshot.get(
      "body",
      String(i),
      () => ++computed,
      () => 16 * 1024 * 1024,
    );
  snapshot.get("body", "0", () => ++computed);
  assert.equal(computed, 11, "ten 16 MiB bodies do not all stay memoized");
  const small = memoOf(Snapshot.from([]));
  for (let i = 0; i < 1000; i++) small.get("v", String(i), () => i);
  let again = 0;
  small.get("v", "0", () => ++again);
  assert.equal(again, 0, "small entries under both bounds stay");
});

test("each snapshot has its own memo, and it is the same one every time", () => {
  const a = Snapshot.from([]);
  const b = Snapshot.from([]);
  assert.equal(memoOf(a), memoOf(a));
  assert.notEqual(memoOf(a), memoOf(b));
  memoOf(a).get("ns", "k", () => 1);
  assert.equal(
    memoOf(b).get("ns", "k", () => 2),
    2,
    "a value derived from one snapshot is not served for another",
  );
});
