// The reloader's refusals of store writes (config/reloader.ts write()), over a real SQLite store: a condition on a
// revision that no longer holds, a name the config file defines, and writers racing with the same condition. A
// refused write stores nothing, publishes nothing, and does not disturb the writes queued after it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManagedByFileError, StoreConflictError } from "../../src/errors.js";
import type { StoreOperation } from "../../src/store/store.js";
import { servedPorts, storeReloader, type StoreReloader } from "./reloader-helpers.js";

const putApi = (port: number, condition: { ifRevision?: number } = {}): StoreOperation => ({
  op: "put",
  kind: "cluster",
  name: "api",
  value: { endpoints: [`127.0.0.1:${port}`] },
  ...condition,
});

/** What a refused write must leave as it was: the store's content and revision, and what is served. */
async function unchanged(d: StoreReloader, write: () => Promise<unknown>, expect: (err: unknown) => boolean): Promise<void> {
  const stored = await d.store.list();
  const served = d.cache.defaultSnapshot();
  const version = d.reloader.state?.version;
  await assert.rejects(write(), (err) => expect(err));
  assert.deepEqual(await d.store.list(), stored, "nothing stored");
  assert.equal(d.cache.defaultSnapshot(), served, "nothing published");
  assert.equal(d.reloader.state?.version, version);
}

test("a write conditional on a revision the object has left is refused with both revisions; on the current one it commits", async () => {
  const d = await storeReloader();
  try {
    const { revision: first } = await d.reloader.write([putApi(9001)]);
    const { revision: second } = await d.reloader.write([putApi(9002)]);
    await unchanged(
      d,
      () => d.reloader.write([putApi(9003, { ifRevision: first })]),
      (err) =>
        err instanceof StoreConflictError &&
        err.expectedRevision === first &&
        err.actualRevision === second &&
        /cluster "api" is at revision \d+, but the write required revision \d+/.test(err.message),
    );
    // The condition is looked at before the content (RFC 9110 §13.2.2: preconditions first): a stale write that
    // would also be invalid is a conflict, and costs no load of the config.
    await unchanged(
      d,
      () => d.reloader.write([{ op: "put", kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:99999"] }, ifRevision: first }]),
      (err) => err instanceof StoreConflictError,
    );
    // A delete is held to its condition the same way.
    await unchanged(
      d,
      () => d.reloader.write([{ op: "delete", kind: "cluster", name: "api", ifRevision: first }]),
      (err) => err instanceof StoreConflictError,
    );
    assert.deepEqual(servedPorts(d.cache, "api"), [9002]);
    await d.reloader.write([putApi(9003, { ifRevision: second })]);
    assert.deepEqual(servedPorts(d.cache, "api"), [9003]);
  } finally {
    await d.close();
  }
});

test("create-only (revision 0) is refused once the object exists; a condition in a transaction refuses all of it", async () => {
  const d = await storeReloader();
  try {
    await d.reloader.write([putApi(9001, { ifRevision: 0 })]);
    await unchanged(
      d,
      () => d.reloader.write([putApi(9002, { ifRevision: 0 })]),
      (err) => err instanceof StoreConflictError && err.expectedRevision === 0 && /but the write required that it not exist/.test(err.message),
    );
    const other: StoreOperation = { op: "put", kind: "cluster", name: "other", value: { endpoints: [] } };
    await unchanged(
      d,
      () => d.reloader.write([other, putApi(9002, { ifRevision: 0 })]),
      (err) => err instanceof StoreConflictError,
    );
    assert.equal(d.reloader.storeObject("cluster", "other"), undefined);
  } finally {
    await d.close();
  }
});

test("a name the file defines is the file's: a put or delete of it is refused naming the file's line, even in a transaction", async () => {
  const d = await storeReloader();
  const managed = (err: unknown) =>
    err instanceof ManagedByFileError &&
    err.location.line === 2 &&
    /cluster "web" is defined by the config file at .*xdsd\.yaml:2:5 \(clusters\[0\]\); change it there/.test(err.message);
  try {
    await unchanged(d, () => d.reloader.write([{ op: "put", kind: "cluster", name: "web", value: { endpoints: [] } }]), managed);
    await unchanged(d, () => d.reloader.write([{ op: "delete", kind: "cluster", name: "web" }]), managed);
    await unchanged(d, () => d.reloader.write([putApi(9001), { op: "put", kind: "cluster", name: "web", value: { endpoints: [] } }]), managed);
    assert.equal(d.reloader.storeObject("cluster", "api"), undefined);
    // Its endpoints are not: registering one is a store write like any other.
    await d.reloader.write([{ op: "put", kind: "endpoint", name: "web/127.0.0.1:8082", value: { address: "127.0.0.1", port: 8082 } }]);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8082]);
  } finally {
    await d.close();
  }
});

test("writers racing with the same condition: exactly one commits, the others are refused and change nothing", async () => {
  const d = await storeReloader();
  try {
    const { revision } = await d.reloader.write([putApi(9000)]);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => d.reloader.write([putApi(9001 + i, { ifRevision: revision })])));
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof StoreConflictError, String(r.reason));
    assert.equal(await d.store.revision(), revision + 1, "one revision more: one commit");
    assert.deepEqual(servedPorts(d.cache, "api"), [9001 + won[0]]);
    // And the writes queued after the refused ones go on as usual.
    await d.reloader.write([putApi(9100)]);
    assert.deepEqual(servedPorts(d.cache, "api"), [9100]);
  } finally {
    await d.close();
  }
});
