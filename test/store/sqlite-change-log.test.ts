// What the SQLite store keeps beside its objects, against issue 18: a change log bounded in bytes as well as in
// revisions (a watcher behind what was compacted lists again), and a row that is not JSON refused by its name.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { StoreCompactedError, StoreUnavailableError } from "../../src/errors.js";
import { defaultChangeLogBytes, SqliteStore, type SqliteStoreOptions } from "../../src/store/sqlite-store.js";
import { runXdsd } from "../support/xdsd.js";

const root = mkdtempSync(join(tmpdir(), "xdsd-change-log-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => join(root, `s${++n}`);

/** A value of about `bytes` bytes of JSON. */
const paddedValue = (bytes: number, i: number) => ({ endpoints: [], metadata: { pad: "x".repeat(bytes), i } });

/** A watch is not expected to fail here. */
const unexpected = (err: Error) => assert.fail(`the watch failed: ${err.message}`);

/** The error a watch from `from` ends with (compaction arrives through onError, as etcd's does). */
function watchError(store: SqliteStore, from: number): Promise<Error> {
  return new Promise((resolve) => store.watch(from, () => assert.fail("a change from a compacted revision"), resolve));
}

test("the change log keeps at most changeLogBytes of values: the oldest revisions go, a watcher behind them lists again", async () => {
  const dir = newDir();
  // Each value is a little over 10 kB: 10 of them fit, 11 do not.
  const options: SqliteStoreOptions = { changeLogBytes: 101_000 };
  const store = SqliteStore.open(dir, options);
  for (let i = 0; i < 60; i++) await store.put("cluster", "big", paddedValue(10_000, i));
  assert.equal(await store.revision(), 60);
  // 10 revisions of 10 kB fit in 100 kB: the 50 before them are compacted away.
  const compacted = await watchError(store, 49);
  assert.ok(compacted instanceof StoreCompactedError && compacted.compactedRevision === 50, String(compacted));
  const replayed: number[] = [];
  store.watch(50, (c) => replayed.push(c.revision), unexpected)();
  assert.deepEqual(replayed, [51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
  // What the watcher does then: list, and watch from the revision the listing reflects.
  const { objects, revision } = await store.list();
  assert.deepEqual([objects.length, revision], [1, 60]);
  const followed: number[] = [];
  const cancel = store.watch(revision, (c) => followed.push(c.revision), unexpected);
  await store.put("cluster", "small", {});
  cancel();
  assert.deepEqual(followed, [61]);
  await store.close();
  // The bound holds across a reopen: what the log holds is counted again.
  const again = SqliteStore.open(dir, options);
  for (let i = 0; i < 5; i++) await again.put("cluster", "big", paddedValue(10_000, 100 + i));
  assert.ok((await watchError(again, 54)) instanceof StoreCompactedError);
  const kept: number[] = [];
  again.watch(56, (c) => kept.push(c.revision), unexpected)();
  assert.equal(kept.length, 10, `revisions kept: ${kept.join(", ")}`);
  await again.close();
});

test("a revision larger than the bound is kept whole, the newest always", async () => {
  const store = SqliteStore.open(newDir(), { changeLogBytes: 1_000 });
  await store.put("cluster", "a", paddedValue(10, 0));
  await store.put("cluster", "b", paddedValue(5_000, 1));
  const replayed: string[] = [];
  store.watch(1, (c) => replayed.push(c.name), unexpected)();
  assert.deepEqual(replayed, ["b"]);
  assert.ok((await watchError(store, 0)) instanceof StoreCompactedError);
  await store.close();
});

test("60 PUTs of a 675 kB cluster leave a database of a few times its size, not 60 (default bound: 64 MiB)", { timeout: 60_000 }, async () => {
  assert.equal(defaultChangeLogBytes, 64 * 1024 * 1024);
  const dir = newDir();
  const store = SqliteStore.open(dir, { changeLogBytes: 4 * 675_000 });
  for (let i = 0; i < 60; i++) await store.put("cluster", "big", paddedValue(675_000, i));
  await store.close();
  const size = ["xdsd.db", "xdsd.db-wal"].reduce((total, f) => total + (statSync(join(dir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
  // Before the bound: the log held all 60 (40.5 MB). Now 4 revisions' worth, plus the object, plus pages SQLite
  // keeps free for reuse.
  assert.ok(size < 15 * 675_000, `${size} bytes on disk`);
});

test("a row that is not a JSON object is refused naming the object and what to do, by the store and by xdsd serve", async () => {
  const dir = newDir();
  const store = SqliteStore.open(dir);
  await store.put("cluster", "web", { endpoints: [] });
  await store.put("cluster", "ok", { endpoints: [] });
  await store.close();
  const db = new Database(join(dir, "xdsd.db"));
  db.prepare("UPDATE objects SET value = ? WHERE name = 'web'").run('{"endpoints": [');
  db.prepare("UPDATE changes SET value = ? WHERE name = 'web'").run("[1]");
  db.close();
  const reopened = SqliteStore.open(dir);
  await assert.rejects(
    reopened.list(),
    (e: unknown) =>
      e instanceof StoreUnavailableError &&
      /the value of cluster "web" \(table objects, revision 1\) is not JSON/.test(e.message) &&
      /Restore the data directory from a backup, or remove that object/.test(e.message),
  );
  await assert.rejects(reopened.get("cluster", "web"), StoreUnavailableError);
  assert.equal((await reopened.get("cluster", "ok"))?.revision, 2);
  assert.throws(() => reopened.watch(0, () => {}, unexpected), /the value of cluster "web" \(table changes, revision 1\) is not a JSON object/);
  await reopened.close();

  const config = join(root, "xdsd.yaml");
  writeFileSync(config, 'clusters: [{name: file, endpoints: ["127.0.0.1:8081"]}]\n');
  const served = await runXdsd(["serve", "--config", config, "--data-dir", dir, "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
  assert.notEqual(served.code, 0);
  assert.match(served.stderr, /the value of cluster "web" \(table objects, revision 1\) is not JSON/);
  assert.doesNotMatch(served.stderr, /SyntaxError| {4}at /, "no stack");
});
