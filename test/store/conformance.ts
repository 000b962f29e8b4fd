// What every Store implementation promises (src/store/store.ts), as one suite each implementation runs unchanged:
// SQLite (sqlite-store.test.ts) and etcd (etcd-store.test.ts). Revisions, compare-and-set, the store-wide
// condition, atomic transactions, ordered watches that replay from a revision, durability across a reopen, and
// refusal of bad input. Revisions are compared, never counted: etcd's advance with every write to the cluster.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StoreCompactedError, StoreConflictError, StoreRevisionConflictError } from "../../src/errors.js";
import type { Store, StoreChange, StoredObject, StoreWatchError } from "../../src/store/store.js";

export interface StoreFactory {
  /** A new, empty store; `changeLogRevisions` bounds the change log where the implementation has one. */
  open(options?: { changeLogRevisions?: number }): Promise<Store>;
  /** The same store opened again after `store` is closed: what it holds must survive. */
  reopen(store: Store): Promise<Store>;
  /**
   * Discards the change history before `revision`, as an operator's compaction of etcd does; absent where the
   * store bounds its own log (`changeLogRevisions`).
   */
  compact?(store: Store, revision: number): Promise<void>;
}

/** Watches from `from` until `done` says the changes seen are all that was expected (10 s at most). */
export function watchUntil(s: Store, from: number, done: (changes: StoreChange[]) => boolean, timeoutMs = 10_000): Promise<StoreChange[]> {
  return new Promise((resolve, reject) => {
    const seen: StoreChange[] = [];
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      queueMicrotask(() => cancel());
      if (error) reject(error);
      else resolve(seen);
    };
    const timer = setTimeout(
      () => finish(new Error(`watch from ${from}: still waiting after ${timeoutMs} ms; saw ${JSON.stringify(seen.map((c) => [c.revision, c.kind, c.name]))}`)),
      timeoutMs,
    );
    const cancel = s.watch(
      from,
      (change) => {
        seen.push(change);
        if (done(seen)) finish();
      },
      (error) => finish(error),
    );
    if (finished) queueMicrotask(() => cancel());
  });
}

/** The error that ends a watch from `from` (10 s at most). */
export function watchError(s: Store, from: number, timeoutMs = 10_000): Promise<StoreWatchError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cancel();
      reject(new Error(`watch from ${from} did not fail within ${timeoutMs} ms`));
    }, timeoutMs);
    const cancel = s.watch(
      from,
      () => {},
      (error) => {
        clearTimeout(timer);
        resolve(error);
      },
    );
  });
}

const brief = (changes: readonly StoreChange[]) => changes.map((c) => [c.revision, c.kind, c.name, c.value]);
const increasing = (revisions: readonly number[]) => revisions.every((r, i) => i === 0 || r > revisions[i - 1]);

export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    const withStore = async (fn: (s: Store) => Promise<void>, options?: { changeLogRevisions?: number }) => {
      const s = await factory.open(options);
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    };

    it("starts empty at revision 0; each write gets a revision above the last, stamps its objects with it, and is the store's revision", () =>
      withStore(async (s) => {
        assert.equal(await s.revision(), 0);
        assert.deepEqual((await s.list()).objects, []);
        const a = await s.put("cluster", "a", { endpoints: ["127.0.0.1:80"] });
        const b = await s.put("listener", "b", { port: 10000 });
        const a2 = await s.put("cluster", "a", { endpoints: [] });
        assert.ok(a.revision > 0 && increasing([a.revision, b.revision, a2.revision]), `revisions ${a.revision}, ${b.revision}, ${a2.revision}`);
        assert.equal(await s.revision(), a2.revision);
        assert.deepEqual(await s.get("cluster", "a"), { kind: "cluster", name: "a", value: { endpoints: [] }, revision: a2.revision });
        assert.equal(await s.get("cluster", "zzz"), undefined);
        assert.equal(await s.get("listener", "a"), undefined, "names are per kind");
        const listing = await s.list();
        assert.ok(listing.revision >= a2.revision, `the listing reflects revision ${listing.revision}, before the last write ${a2.revision}`);
        assert.deepEqual(
          listing.objects.map((o) => [o.kind, o.name, o.revision]),
          [
            ["cluster", "a", a2.revision],
            ["listener", "b", b.revision],
          ],
        );
        assert.deepEqual(
          (await s.list("listener")).objects.map((o) => o.name),
          ["b"],
        );
      }));

    it("compare-and-set: ifRevision 0 creates only; ifRevision n replaces only what is at n; a conflict writes nothing", () =>
      withStore(async (s) => {
        const first = await s.put("endpoint", "c/127.0.0.1:80", { weight: 1 }, { ifRevision: 0 });
        await assert.rejects(s.put("endpoint", "c/127.0.0.1:80", { weight: 2 }, { ifRevision: 0 }), (e: unknown) => {
          assert.ok(e instanceof StoreConflictError);
          assert.deepEqual([e.code, e.expectedRevision, e.actualRevision], ["XDSD_STORE_CONFLICT", 0, first.revision]);
          return true;
        });
        await assert.rejects(s.put("endpoint", "c/127.0.0.1:80", { weight: 3 }, { ifRevision: first.revision + 7 }), StoreConflictError);
        assert.equal(await s.revision(), first.revision, "no revision for a refused write");
        const second = await s.put("endpoint", "c/127.0.0.1:80", { weight: 4 }, { ifRevision: first.revision });
        assert.equal((await s.get("endpoint", "c/127.0.0.1:80"))?.value.weight, 4);
        await assert.rejects(s.delete("endpoint", "c/127.0.0.1:80", { ifRevision: first.revision }), StoreConflictError);
        const deleted = await s.delete("endpoint", "c/127.0.0.1:80", { ifRevision: second.revision });
        assert.ok(deleted !== undefined && deleted > second.revision);
        assert.equal(await s.revision(), deleted);
        assert.equal(await s.get("endpoint", "c/127.0.0.1:80"), undefined);
      }));

    it("deleting what is absent changes nothing and uses no revision", () =>
      withStore(async (s) => {
        const a = await s.put("cluster", "a", {});
        assert.equal(await s.delete("cluster", "nope"), undefined);
        assert.equal(await s.revision(), a.revision);
      }));

    it("concurrent writers with the same ifRevision: exactly one wins", () =>
      withStore(async (s) => {
        const base = await s.put("cluster", "contended", { writer: -1 });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => s.put("cluster", "contended", { writer: i }, { ifRevision: base.revision })),
        );
        const won = results.filter((r) => r.status === "fulfilled");
        assert.equal(won.length, 1);
        assert.ok(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason instanceof StoreConflictError));
        const winner = (won[0] as PromiseFulfilledResult<StoredObject>).value.value.writer;
        assert.equal((await s.get("cluster", "contended"))?.value.writer, winner);
      }));

    it("concurrent unconditional writers: every write lands once, each at a revision of its own", () =>
      withStore(async (s) => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.put("cluster", `c${i}`, { i })));
        assert.equal(new Set(results.map((r) => r.revision)).size, 10);
        const listing = await s.list();
        assert.deepEqual(
          listing.objects.map((o) => [o.name, o.revision]),
          results.map((r) => [r.name, r.revision]).sort(([a], [b]) => String(a).localeCompare(String(b))),
        );
        const changes = await watchUntil(s, 0, (seen) => seen.length === 10);
        assert.ok(increasing(changes.map((c) => c.revision)));
      }));

    it("a transaction applies every operation at one revision, or none of them when any condition fails", () =>
      withStore(async (s) => {
        const a = await s.put("cluster", "a", { v: 1 });
        const { revision } = await s.transaction([
          { op: "put", kind: "cluster", name: "b", value: { v: 2 }, ifRevision: 0 },
          { op: "put", kind: "cluster", name: "a", value: { v: 3 }, ifRevision: a.revision },
          { op: "put", kind: "listener", name: "l", value: {} },
        ]);
        assert.ok(revision > a.revision);
        assert.deepEqual(
          (await s.list()).objects.map((o) => o.revision),
          [revision, revision, revision],
        );
        await assert.rejects(
          s.transaction([
            { op: "delete", kind: "cluster", name: "a" },
            { op: "put", kind: "cluster", name: "c", value: {} },
            { op: "put", kind: "cluster", name: "b", value: { v: 9 }, ifRevision: 0 },
          ]),
          StoreConflictError,
        );
        assert.equal(await s.revision(), revision);
        assert.deepEqual(
          (await s.list("cluster")).objects.map((o) => [o.name, o.value.v]),
          [
            ["a", 3],
            ["b", 2],
          ],
        );
      }));

    it("the store-wide condition: a write commits only if the store had no write after the revision it names", () =>
      withStore(async (s) => {
        const a = await s.put("cluster", "a", { v: 1 });
        const seen = await s.revision();
        const b = await s.transaction([{ op: "put", kind: "cluster", name: "b", value: {} }], { ifStoreRevision: seen });
        assert.ok(b.revision > seen);
        // Validated at `seen`, but b was written since: refused, whole, with the revision it lost to.
        await assert.rejects(
          s.transaction(
            [
              { op: "put", kind: "cluster", name: "c", value: {} },
              { op: "delete", kind: "cluster", name: "a" },
            ],
            { ifStoreRevision: seen },
          ),
          (e: unknown) => {
            assert.ok(e instanceof StoreRevisionConflictError, String(e));
            assert.deepEqual([e.code, e.requiredRevision, e.storeRevision], ["XDSD_STORE_REVISION_CONFLICT", seen, b.revision]);
            return true;
          },
        );
        assert.equal(await s.revision(), b.revision);
        assert.equal(await s.get("cluster", "c"), undefined);
        assert.equal((await s.get("cluster", "a"))?.revision, a.revision);
        // A listing's revision and a watched change's revision serve as well.
        const listing = await s.list();
        const c = await s.transaction([{ op: "put", kind: "cluster", name: "c", value: {} }], { ifStoreRevision: listing.revision });
        const [change] = await watchUntil(s, c.revision - 1, (changes) => changes.length === 1);
        assert.equal(change.revision, c.revision);
        await s.transaction([{ op: "delete", kind: "cluster", name: "c" }], { ifStoreRevision: change.revision });
        await assert.rejects(
          s.transaction([{ op: "put", kind: "cluster", name: "d", value: {} }], { ifStoreRevision: listing.revision }),
          StoreRevisionConflictError,
        );
      }));

    it("the store-wide condition: an object's conflict is the one reported when both fail; concurrent writers from one revision: one wins", () =>
      withStore(async (s) => {
        const a = await s.put("cluster", "a", {});
        const seen = await s.revision();
        await s.put("cluster", "a", { changed: true });
        await assert.rejects(
          s.transaction([{ op: "put", kind: "cluster", name: "a", value: {}, ifRevision: a.revision }], { ifStoreRevision: seen }),
          StoreConflictError,
        );
        const from = await s.revision();
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => s.transaction([{ op: "put", kind: "listener", name: `l${i}`, value: {} }], { ifStoreRevision: from })),
        );
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof StoreRevisionConflictError, String(r.reason));
        assert.equal((await s.list("listener")).objects.length, 1);
      }));

    it("watch replays every change after a revision in order, then follows new ones until cancelled; a write's changes come in one run", () =>
      withStore(async (s) => {
        const r1 = (await s.put("cluster", "a", { v: 1 })).revision;
        const r2 = (await s.put("cluster", "b", { v: 2 })).revision;
        const r3 = (await s.delete("cluster", "a"))!;
        // Each change is tagged with the synchronous run it came in.
        let run = 0;
        let runPending = false;
        const all: [StoreChange, number][] = [];
        let cancelAll = () => {};
        const allSeen = new Promise<void>((resolve, reject) => {
          cancelAll = s.watch(
            0,
            (c) => {
              if (!runPending) {
                runPending = true;
                queueMicrotask(() => {
                  runPending = false;
                  run++;
                });
              }
              all.push([c, run]);
              if (all.length === 5) resolve();
            },
            reject,
          );
        });
        const fromTwo = watchUntil(s, r2, (changes) => changes.length === 4);
        const { revision: r4 } = await s.transaction([
          { op: "put", kind: "listener", name: "l", value: { port: 1 } },
          { op: "delete", kind: "cluster", name: "b" },
        ]);
        await allSeen;
        cancelAll();
        const r5 = (await s.put("cluster", "after-cancel", {})).revision;
        assert.deepEqual(brief(await fromTwo), [
          [r3, "cluster", "a", undefined],
          [r4, "listener", "l", { port: 1 }],
          [r4, "cluster", "b", undefined],
          [r5, "cluster", "after-cancel", {}],
        ]);
        assert.deepEqual(
          brief(all.map(([c]) => c)),
          [
            [r1, "cluster", "a", { v: 1 }],
            [r2, "cluster", "b", { v: 2 }],
            [r3, "cluster", "a", undefined],
            [r4, "listener", "l", { port: 1 }],
            [r4, "cluster", "b", undefined],
          ],
          "a cancelled watch delivers nothing more",
        );
        assert.equal(all[3][1], all[4][1], "the two changes of one transaction came in one synchronous run");
      }));

    it("a watch from before the kept history fails with StoreCompactedError; list() then says where to resume", () =>
      withStore(
        async (s) => {
          const revisions: number[] = [];
          for (let i = 0; i < 10; i++) revisions.push((await s.put("cluster", `c${i}`, { i })).revision);
          await factory.compact?.(s, revisions[7]);
          const error = await watchError(s, 0);
          assert.ok(error instanceof StoreCompactedError, String(error));
          assert.equal(error.code, "XDSD_STORE_COMPACTED");
          // What is still kept can be watched.
          assert.deepEqual(
            (await watchUntil(s, revisions[8], (changes) => changes.length === 1)).map((c) => c.revision),
            [revisions[9]],
          );
          const listing = await s.list();
          assert.equal(listing.objects.length, 10);
          const next = watchUntil(s, listing.revision, (changes) => changes.length === 1);
          const written = await s.put("cluster", "next", {});
          assert.deepEqual(
            (await next).map((c) => c.revision),
            [written.revision],
          );
        },
        { changeLogRevisions: 3 },
      ));

    it("what was acknowledged is there after the store is closed and opened again, revisions included", async () => {
      let s = await factory.open();
      const kept = await s.put("cluster", "kept", { v: 1 });
      const { revision } = await s.transaction([
        { op: "put", kind: "node-group", name: "edge/*", value: { clusters: [] } },
        { op: "put", kind: "resource", name: "type.googleapis.com/envoy.config.cluster.v3.Cluster/raw", value: { "@type": "x" } },
      ]);
      s = await factory.reopen(s);
      try {
        assert.equal(await s.revision(), revision);
        assert.deepEqual(await s.get("cluster", "kept"), { kind: "cluster", name: "kept", value: { v: 1 }, revision: kept.revision });
        assert.equal((await s.list()).objects.length, 3);
        const replay = await watchUntil(s, 0, (changes) => changes.length === 3);
        assert.deepEqual(
          replay.map((c) => c.revision),
          [kept.revision, revision, revision],
        );
        assert.ok((await s.put("cluster", "kept", { v: 2 })).revision > revision);
      } finally {
        await s.close();
      }
    });

    it("refuses what its interface does not allow: an unknown kind, an empty name, a value that is not an object, an object twice", () =>
      withStore(async (s) => {
        await assert.rejects(s.put("widget" as never, "a", {}), /unknown object kind "widget"/);
        await assert.rejects(s.put("cluster", "", {}), /needs a name/);
        await assert.rejects(s.put("cluster", "a", [] as never), /must be a JSON object/);
        await assert.rejects(s.put("cluster", "a", {}, { ifRevision: -1 }), /ifRevision/);
        await assert.rejects(s.transaction([{ op: "put", kind: "cluster", name: "a", value: {} }], { ifStoreRevision: 1.5 }), /ifStoreRevision/);
        await assert.rejects(
          s.transaction([
            { op: "put", kind: "cluster", name: "a", value: {} },
            { op: "delete", kind: "cluster", name: "a" },
          ]),
          /cluster "a" appears more than once in one transaction/,
        );
        assert.equal(await s.revision(), 0);
      }));
  });
}
