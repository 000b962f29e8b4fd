// The store as the one source of truth (issue 17), over a real SQLite store: what another writer commits — a
// change made in the store directly, another daemon's write — reaches what is served through the store's watch; a
// write validated against a state the store has left is validated again and retried, a bounded number of times;
// two daemons on one store racing (one deletes cluster X, the other routes to X) never leave the store in a state
// that fails validation; and a watch that cannot go on (compacted) is replaced by a new listing.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { ConfigReloader } from "../../src/daemon/reloader.js";
import { ConfigError, StoreCompactedError, StoreRevisionConflictError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store, StoreCondition, StoreOperation, StoreWatchError } from "../../src/store/store.js";
import { servedPorts, storeReloader, webConfig } from "./reloader-helpers.js";

/** Resolves once `check` holds, polling every 5 ms for at most 5 s. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
}

/** A store whose transactions another writer can get ahead of, and whose watch the test can end. */
function interposed(inner: Store) {
  const hooks = {
    /** Runs before each transaction goes to the store: another writer committing first. */
    before: undefined as (() => Promise<void>) | undefined,
    transactions: 0,
    /** Ends the current watch as the store would (its inner watch cancelled first, so changes are missed). */
    endWatch: (_error: StoreWatchError) => {},
  };
  const store: Store = {
    get: (kind, name) => inner.get(kind, name),
    list: (kind) => inner.list(kind),
    put: (kind, name, value, condition) => inner.put(kind, name, value, condition),
    delete: (kind, name, condition) => inner.delete(kind, name, condition),
    revision: () => inner.revision(),
    close: () => inner.close(),
    async transaction(operations: readonly StoreOperation[], condition?: StoreCondition) {
      hooks.transactions++;
      await hooks.before?.();
      return inner.transaction(operations, condition);
    },
    watch(from, onChange, onError) {
      const cancel = inner.watch(from, onChange, onError);
      hooks.endWatch = (error) => {
        cancel();
        onError(error);
      };
      return cancel;
    },
  };
  return { store, hooks };
}

async function reloaderOn(store: Store, config = webConfig) {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-store-truth-"));
  const file = join(dir, "xdsd.yaml");
  writeFileSync(file, config);
  const cache = new SnapshotCache();
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const reloader = new ConfigReloader(file, cache, log, { store });
  await reloader.loadInitial();
  return { reloader, cache, lines };
}

test("a change made in the store directly, not through this daemon, is served: added, changed, deleted", async () => {
  const d = await storeReloader();
  try {
    await d.store.put("endpoint", "web/127.0.0.1:8301", { address: "127.0.0.1", port: 8301 });
    await eventually(() => servedPorts(d.cache, "web")?.includes(8301) === true, "the endpoint put in the store is served");
    await d.store.put("cluster", "api", { endpoints: ["127.0.0.1:9001"] });
    await eventually(() => servedPorts(d.cache, "api")?.[0] === 9001, "the cluster put in the store is served");
    await d.store.delete("endpoint", "web/127.0.0.1:8301");
    await eventually(() => servedPorts(d.cache, "web")?.join() === "8081", "the deletion is served");
    const revision = await d.store.revision();
    assert.equal(d.reloader.storeObjects().revision, revision, "the view is at the store's revision");
    assert.equal(d.reloader.storeObject("cluster", "api")?.revision, (await d.store.get("cluster", "api"))?.revision);
    assert.match(d.reloader.state?.version ?? "", new RegExp(`\\+r${revision}$`));
  } finally {
    await d.close();
  }
});

test("an invalid change arriving through the watch is logged and the last good config stays served; a valid one after it is served", async () => {
  const d = await storeReloader();
  try {
    const served = d.cache.defaultSnapshot();
    await d.store.put("cluster", "bad", { endpoints: ["300.1.1.1:80"] });
    await eventually(() => d.lines.some((l) => /^error config .* rejected, still serving/.test(l)), "the refusal is logged");
    assert.equal(d.cache.defaultSnapshot(), served, "nothing published");
    assert.match(d.reloader.state?.lastError?.message ?? "", /300\.1\.1\.1/);
    await d.store.delete("cluster", "bad");
    await d.store.put("cluster", "api", { endpoints: ["127.0.0.1:9001"] });
    await eventually(() => servedPorts(d.cache, "api")?.[0] === 9001, "served once the store is valid again");
  } finally {
    await d.close();
  }
});

test("a write that another writer got ahead of is validated again against the new state and committed; its answer waits for the publish", async () => {
  const inner = SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-store-truth-")));
  const { store, hooks } = interposed(inner);
  const d = await reloaderOn(store);
  try {
    let ahead = 2;
    hooks.before = async () => {
      if (ahead-- > 0) await inner.put("endpoint", `web/127.0.0.1:${8400 + ahead}`, { address: "127.0.0.1", port: 8400 + ahead });
    };
    const { revision, version } = await d.reloader.write([{ op: "put", kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:9001"] } }]);
    assert.equal(hooks.transactions, 3, "refused twice for the store-wide condition, committed the third time");
    assert.equal(revision, await inner.revision());
    assert.equal(version, d.reloader.state?.version);
    assert.deepEqual(servedPorts(d.cache, "api"), [9001], "published when the write answers");
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8400, 8401], "with what the other writer committed first");
  } finally {
    await d.reloader.close();
    await store.close();
  }
});

test("a write the store changes under at every try is refused after the bounded tries, nothing of it stored", async () => {
  const inner = SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-store-truth-")));
  const { store, hooks } = interposed(inner);
  const d = await reloaderOn(store);
  try {
    let port = 8500;
    hooks.before = async () => void (await inner.put("endpoint", `web/127.0.0.1:${port}`, { address: "127.0.0.1", port: port++ }));
    await assert.rejects(
      d.reloader.write([{ op: "put", kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:9001"] } }]),
      (err) => err instanceof StoreRevisionConflictError && /validate against the new state and retry/.test(err.message),
    );
    assert.equal(hooks.transactions, 5);
    assert.equal(await inner.get("cluster", "api"), undefined);
    hooks.before = undefined;
    await eventually(() => servedPorts(d.cache, "web")?.length === 6, "the other writer's endpoints are served");
  } finally {
    await d.reloader.close();
    await store.close();
  }
});

test("two daemons on one store racing, one deleting cluster x and the other routing to it: the store never holds the invalid combination (100 rounds)", async () => {
  const store = SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-store-truth-")));
  const a = await reloaderOn(store);
  const b = await reloaderOn(store);
  const cluster: StoreOperation = { op: "put", kind: "cluster", name: "x", value: { endpoints: ["127.0.0.1:9100"] } };
  const route: StoreOperation = {
    op: "put",
    kind: "listener",
    name: "to-x",
    value: { port: 10100, virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ prefix: "/", cluster: "x" }] }] },
  };
  try {
    let deletes = 0;
    let routes = 0;
    for (let round = 0; round < 100; round++) {
      await a.reloader.write([cluster]);
      // Both validated against a state where x exists; at most one may commit.
      const [deleted, routed] = await Promise.allSettled([
        a.reloader.write([{ op: "delete", kind: "cluster", name: "x" }]),
        b.reloader.write([route]),
        // A third writer, straight to the store, re-putting what is there: it moves the revision under both.
        round % 3 === 0 ? store.put("endpoint", "web/127.0.0.1:8081", { address: "127.0.0.1", port: 8081 }) : Promise.resolve(),
      ]);
      for (const r of [deleted, routed]) if (r.status === "rejected") assert.ok(r.reason instanceof ConfigError, String(r.reason));
      if (deleted.status === "fulfilled") deletes++;
      if (routed.status === "fulfilled") routes++;
      const held = new Map((await store.list()).objects.map((o) => [`${o.kind}/${o.name}`, o]));
      assert.ok(held.has("cluster/x") || !held.has("listener/to-x"), `round ${round}: the store routes to a cluster it does not hold`);
      await b.reloader.write([{ op: "delete", kind: "listener", name: "to-x" }]);
    }
    assert.ok(deletes > 0 && routes > 0, `both writers won some rounds (${deletes} deletes, ${routes} routes)`);
    // Both daemons serve what the store holds.
    const revision = await store.revision();
    const serves = (r: ConfigReloader) => r.storeObjects().revision === revision && r.state?.version.endsWith(`+r${revision}`) === true;
    await eventually(() => serves(a.reloader) && serves(b.reloader), "both daemons serve the store's latest revision");
    for (const { cache } of [a, b]) assert.equal(cache.defaultSnapshot()?.resources(TypeUrl.Listener).has("to-x"), false);
  } finally {
    await a.reloader.close();
    await b.reloader.close();
    await store.close();
  }
});

test("a watch the store can no longer continue (compacted) is replaced by a new listing, and what it missed is served", async () => {
  const inner = SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-store-truth-")));
  const { store, hooks } = interposed(inner);
  const d = await reloaderOn(store);
  try {
    const from = await inner.revision();
    const endWatch = hooks.endWatch;
    // The watch is cancelled before the put: only a new listing can bring it.
    endWatch(new StoreCompactedError(from, from + 1));
    await inner.put("cluster", "api", { endpoints: ["127.0.0.1:9001"] });
    await eventually(() => servedPorts(d.cache, "api")?.[0] === 9001, "the change the watch missed is served");
    assert.ok(d.lines.some((l) => /^warn the store's watch ended .*listing the store again/.test(l)));
    // And the new watch follows what comes after.
    await inner.put("cluster", "api", { endpoints: ["127.0.0.1:9002"] });
    await eventually(() => servedPorts(d.cache, "api")?.[0] === 9002, "followed after the new listing");
  } finally {
    await d.reloader.close();
    await store.close();
  }
});

test("a change committed between the store's listing and the start of its watch is replayed by the watch and served", async () => {
  const inner = SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-store-truth-")));
  const { store } = interposed(inner);
  store.list = async (kind) => {
    const listing = await inner.list(kind);
    // After the listing, before the reloader watches from its revision: SQLite replays it inside watch().
    await inner.put("cluster", "api", { endpoints: ["127.0.0.1:9001"] });
    return listing;
  };
  const d = await reloaderOn(store);
  try {
    await eventually(() => servedPorts(d.cache, "api")?.[0] === 9001, "the change after the listing is served");
  } finally {
    await d.reloader.close();
    await store.close();
  }
});
