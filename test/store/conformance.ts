// What every Store implementation promises (src/store/store.ts), as one suite each implementation runs: SQLite now
// (sqlite-store.test.ts), etcd next. Revisions, compare-and-set, atomic transactions, ordered watches that replay
// from a revision, durability across a reopen, and refusal of bad input.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StoreCompactedError, StoreConflictError } from "../../src/errors.js";
import type { Store, StoreChange, StoredObject } from "../../src/store/store.js";

export interface StoreFactory {
  /** A new, empty store; `changeLogRevisions` bounds the change log where the implementation has one. */
  open(options?: { changeLogRevisions?: number }): Promise<Store>;
  /** The same store opened again after `store` is closed: what it holds must survive. */
  reopen(store: Store): Promise<Store>;
}

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

    it("starts empty at revision 0; every write advances the revision by one and stamps the object with it", () =>
      withStore(async (s) => {
        assert.equal(await s.revision(), 0);
        assert.deepEqual(await s.list(), { objects: [], revision: 0 });
        const a = await s.put("cluster", "a", { endpoints: ["127.0.0.1:80"] });
        const b = await s.put("listener", "b", { port: 10000 });
        const a2 = await s.put("cluster", "a", { endpoints: [] });
        assert.deepEqual([a.revision, b.revision, a2.revision], [1, 2, 3]);
        assert.deepEqual(await s.get("cluster", "a"), { kind: "cluster", name: "a", value: { endpoints: [] }, revision: 3 });
        assert.equal(await s.get("cluster", "zzz"), undefined);
        assert.equal(await s.get("listener", "a"), undefined, "names are per kind");
        const listing = await s.list();
        assert.equal(listing.revision, 3);
        assert.deepEqual(
          listing.objects.map((o) => [o.kind, o.name, o.revision]),
          [
            ["cluster", "a", 3],
            ["listener", "b", 2],
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
        assert.equal(await s.delete("endpoint", "c/127.0.0.1:80", { ifRevision: second.revision }), second.revision + 1);
        assert.equal(await s.get("endpoint", "c/127.0.0.1:80"), undefined);
      }));

    it("deleting what is absent changes nothing and uses no revision", () =>
      withStore(async (s) => {
        await s.put("cluster", "a", {});
        assert.equal(await s.delete("cluster", "nope"), undefined);
        assert.equal(await s.revision(), 1);
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

    it("a transaction applies every operation at one revision, or none of them when any condition fails", () =>
      withStore(async (s) => {
        const a = await s.put("cluster", "a", { v: 1 });
        const { revision } = await s.transaction([
          { op: "put", kind: "cluster", name: "b", value: { v: 2 }, ifRevision: 0 },
          { op: "put", kind: "cluster", name: "a", value: { v: 3 }, ifRevision: a.revision },
          { op: "put", kind: "listener", name: "l", value: {} },
        ]);
        assert.equal(revision, a.revision + 1);
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

    it("watch replays every change after a revision in order, then follows new ones until cancelled", () =>
      withStore(async (s) => {
        await s.put("cluster", "a", { v: 1 });
        await s.put("cluster", "b", { v: 2 });
        await s.delete("cluster", "a");
        const all: StoreChange[] = [];
        const cancel = s.watch(0, (c) => all.push(c));
        const fromTwo: StoreChange[] = [];
        const cancelTwo = s.watch(2, (c) => fromTwo.push(c));
        await s.transaction([
          { op: "put", kind: "listener", name: "l", value: { port: 1 } },
          { op: "delete", kind: "cluster", name: "b" },
        ]);
        cancel();
        await s.put("cluster", "after-cancel", {});
        assert.deepEqual(
          all.map((c) => [c.revision, c.kind, c.name, c.value]),
          [
            [1, "cluster", "a", { v: 1 }],
            [2, "cluster", "b", { v: 2 }],
            [3, "cluster", "a", undefined],
            [4, "listener", "l", { port: 1 }],
            [4, "cluster", "b", undefined],
          ],
        );
        assert.deepEqual(
          fromTwo.map((c) => c.revision),
          [3, 4, 4, 5],
        );
        cancelTwo();
      }));

    it("a watch from before the kept change log fails with StoreCompactedError; list() then says where to resume", () =>
      withStore(
        async (s) => {
          for (let i = 0; i < 10; i++) await s.put("cluster", `c${i}`, { i });
          assert.throws(() => s.watch(0, () => {}), StoreCompactedError);
          const listing = await s.list();
          const seen: number[] = [];
          const cancel = s.watch(listing.revision, (c) => seen.push(c.revision));
          await s.put("cluster", "next", {});
          cancel();
          assert.deepEqual(seen, [11]);
        },
        { changeLogRevisions: 3 },
      ));

    it("what was acknowledged is there after the store is closed and opened again, revisions included", async () => {
      let s = await factory.open();
      await s.put("cluster", "kept", { v: 1 });
      await s.transaction([
        { op: "put", kind: "node-group", name: "edge/*", value: { clusters: [] } },
        { op: "put", kind: "resource", name: "type.googleapis.com/envoy.config.cluster.v3.Cluster/raw", value: { "@type": "x" } },
      ]);
      s = await factory.reopen(s);
      try {
        assert.equal(await s.revision(), 2);
        assert.deepEqual(await s.get("cluster", "kept"), { kind: "cluster", name: "kept", value: { v: 1 }, revision: 1 });
        assert.equal((await s.list()).objects.length, 3);
        const replay: number[] = [];
        s.watch(0, (c) => replay.push(c.revision))();
        assert.deepEqual(replay, [1, 2, 2]);
        assert.equal((await s.put("cluster", "kept", { v: 2 })).revision, 3);
      } finally {
        await s.close();
      }
    });

    it("refuses what its interface does not allow: an unknown kind, an empty name, a value that is not an object", () =>
      withStore(async (s) => {
        await assert.rejects(s.put("widget" as never, "a", {}), /unknown object kind "widget"/);
        await assert.rejects(s.put("cluster", "", {}), /needs a name/);
        await assert.rejects(s.put("cluster", "a", [] as never), /must be a JSON object/);
        await assert.rejects(s.put("cluster", "a", {}, { ifRevision: -1 }), /ifRevision/);
        assert.equal(await s.revision(), 0);
      }));
  });
}
