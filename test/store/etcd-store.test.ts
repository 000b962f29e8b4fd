// The etcd store on a real 3-member cluster (test/support/etcd.ts): the conformance suite unchanged (each store
// under a prefix of its own), the kill -9 durability test, and what is etcd's own — other keys of the cluster,
// other prefixes, what the store does with keys it did not write, an unreachable cluster.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { StoreUnavailableError } from "../../src/errors.js";
import { isUnanswered } from "../../src/store/etcd-client.js";
import { EtcdStore } from "../../src/store/etcd-store.js";
import { openStore } from "../../src/store/open-store.js";
import type { Store } from "../../src/store/store.js";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd.js";
import { freePort } from "../support/ports.js";
import { storeConformance, watchError, watchUntil } from "./conformance.js";
import { killWriterRounds } from "./crash.js";

let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster();
});
after(() => cluster?.stop());

const newPrefix = () => `/xdsd-test/${randomBytes(4).toString("hex")}/`;
const prefixes = new WeakMap<Store, string>();
const openAt = async (prefix: string) => {
  const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix });
  prefixes.set(store, prefix);
  return store;
};

storeConformance("etcd", {
  open: () => openAt(newPrefix()),
  async reopen(store) {
    await store.close();
    return openAt(prefixes.get(store)!);
  },
  // etcd's history is the cluster's; the operator (here the test) compacts it.
  compact: (_store, revision) => cluster.client.compact(revision),
});

describe("etcd store", () => {
  it("survives its writer's SIGKILL: 10 kills at random moments, every acknowledged write there, once", async () => {
    const prefix = newPrefix();
    await killWriterRounds({ url: cluster.url, etcdPrefix: prefix, open: () => openAt(prefix) }, 10);
  });

  it("keeps to its prefix: other keys of the cluster move etcd's revision, not the store's; two prefixes are two stores", async () => {
    const a = await openAt(newPrefix());
    const b = await openAt(newPrefix());
    try {
      const written = await a.put("cluster", "x", { in: "a" });
      await b.put("cluster", "x", { in: "b" });
      await b.put("listener", "y", {});
      // b's writes advanced the cluster's revision, not a's.
      assert.equal(await a.revision(), written.revision);
      assert.deepEqual(
        (await a.list()).objects.map((o) => [o.kind, o.name, o.value]),
        [["cluster", "x", { in: "a" }]],
      );
      // a's listing is at the cluster's revision, after b's writes, and a write validated against it commits.
      const listing = await a.list();
      assert.ok(listing.revision > written.revision);
      await a.transaction([{ op: "put", kind: "cluster", name: "z", value: {} }], { ifStoreRevision: listing.revision });
      // A watch of a sees a's changes only.
      const changes = await watchUntil(a, 0, (seen) => seen.length === 2);
      assert.deepEqual(
        changes.map((c) => c.name),
        ["x", "z"],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("an idle store: compaction past its last write sends a watch from there to re-list, once; the listing is recent enough to watch from", async () => {
    // An idle store's revision() stays at its last write while the cluster moves on; a listing says the cluster's
    // revision, so a consumer that lists and watches from there is not sent back to re-list by compaction forever.
    const idle = await openAt(newPrefix());
    const busy = await openAt(newPrefix());
    try {
      const last = await idle.put("cluster", "a", {});
      for (let i = 0; i < 5; i++) await busy.put("cluster", `b${i}`, {});
      const compactAt = (await busy.put("cluster", "b-last", {})).revision;
      await cluster.client.compact(compactAt);
      assert.ok((await watchError(idle, last.revision)).code === "XDSD_STORE_COMPACTED");
      const listing = await idle.list();
      assert.ok(listing.revision >= compactAt);
      const next = watchUntil(idle, listing.revision, (seen) => seen.length === 1);
      const written = await idle.put("cluster", "after", {});
      assert.equal((await next)[0].revision, written.revision);
    } finally {
      await idle.close();
      await busy.close();
    }
  });

  it("keys under the prefix that are no object of a known kind are left alone; a value that is not JSON is an error naming its key", async () => {
    const prefix = newPrefix();
    const store = await openAt(prefix);
    try {
      await store.put("cluster", "ok", {});
      await cluster.client.txn({
        compare: [],
        success: [
          { request_put: { key: Buffer.from(`${prefix}gadget/x`), value: Buffer.from("{}") } },
          { request_put: { key: Buffer.from(`${prefix}stray`), value: Buffer.from("?") } },
        ],
        failure: [],
      });
      assert.deepEqual(
        (await store.list()).objects.map((o) => o.name),
        ["ok"],
      );
      await cluster.client.txn({
        compare: [],
        success: [{ request_put: { key: Buffer.from(`${prefix}cluster/bad`), value: Buffer.from("{nope") } }],
        failure: [],
      });
      await assert.rejects(
        store.list(),
        (e: unknown) => e instanceof StoreUnavailableError && e.message.includes(`etcd key ${prefix}cluster/bad`) && /does not hold JSON/.test(e.message),
      );
      const error = await watchError(store, 0);
      assert.ok(error instanceof StoreUnavailableError && error.message.includes(`${prefix}cluster/bad`), String(error));
    } finally {
      await store.close();
    }
  });

  it("a transaction over etcd's operation limit is refused, whole, saying which limit", async () => {
    const store = await openAt(newPrefix());
    try {
      const operations = Array.from({ length: 128 }, (_, i) => ({ op: "put" as const, kind: "cluster" as const, name: `c${i}`, value: {} }));
      await assert.rejects(
        store.transaction(operations),
        (e: unknown) => e instanceof StoreUnavailableError && /too many operations/.test(e.message) && e.message.includes("--max-txn-ops, 128 by default"),
      );
      assert.equal(await store.revision(), 0);
      await store.transaction(operations.slice(1)); // 127 objects and the head: etcd's default allows it
      assert.equal((await store.list()).objects.length, 127);
    } finally {
      await store.close();
    }
  });

  it("opens through openStore from an etcd:// URL and a prefix", async () => {
    const prefix = newPrefix();
    const store = await openStore(cluster.url, { etcdPrefix: prefix });
    try {
      await store.put("cluster", "via-url", {});
      const again = await openAt(prefix);
      assert.deepEqual((await again.get("cluster", "via-url"))?.value, {});
      await again.close();
    } finally {
      await store.close();
    }
  });

  it("an unreachable cluster: open fails with StoreUnavailableError naming the endpoints, within the call timeout", async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    await assert.rejects(
      EtcdStore.open({ endpoints: [nobody], prefix: newPrefix(), callTimeoutMs: 1_000 }),
      (e: unknown) => e instanceof StoreUnavailableError && e.message.includes(`cannot use etcd at ${nobody}`),
    );
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });
});

it("a StoreUnavailableError with no cause (the store closed) is not an unanswered call, and telling so does not throw", () => {
  // isTransient read `code` off an undefined cause: a watch or an election on a closed store failed with a TypeError.
  assert.equal(isUnanswered(new StoreUnavailableError("the store is closed")), false);
});
