// The etcd store through etcd's own faults, on a real 3-member cluster (issue 20, "Prove it"): a watch resumed
// across a member's restart and a leader change with writes going on sees every change once, in order; the
// leader killed during a stream of writes loses no acknowledged write and applies none twice.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import { EtcdStore } from "../../src/store/etcd-store.js";
import type { Store, StoreChange } from "../../src/store/store.js";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd.js";
import { watchUntil } from "./conformance.js";

let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster();
});
after(() => cluster?.stop());

const newPrefix = () => `/xdsd-faults/${randomBytes(4).toString("hex")}/`;
/** A store that talks to the members in this order: the first one until it fails. */
const storeVia = (members: number[], prefix: string) => EtcdStore.open({ endpoints: members.map((i) => cluster.endpoints[i]), prefix });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writers that put unique objects until stopped (or `max` writes each); what each acknowledged, and what failed. */
function writeLoops(store: Store, loops: number, max = 400) {
  let stopped = false;
  const acked: { name: string; revision: number }[] = [];
  const failed: unknown[] = [];
  const done = Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let n = 0; n < max && !stopped; n++) {
        const name = `w${loop}-${n}`;
        try {
          // Every third write is a two-object transaction: a write is applied whole, once.
          const { revision } =
            n % 3 === 2
              ? await store.transaction([
                  { op: "put", kind: "cluster", name, value: { loop, n } },
                  { op: "put", kind: "listener", name, value: { loop, n } },
                ])
              : await store.put("cluster", name, { loop, n });
          acked.push({ name, revision });
        } catch (err) {
          failed.push(err);
        }
        await sleep(5);
      }
    }),
  );
  return {
    acked,
    failed,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

it("a watch resumes across a member's restart and a leader change with writes going on: every change once, in order", async () => {
  const prefix = newPrefix();
  const leader = await cluster.leader();
  const follower = (leader + 1) % 3;
  const other = (leader + 2) % 3;
  // The watcher's stream starts on `follower`; the writer's calls on `other`.
  const watcher = await storeVia([follower, other, leader], prefix);
  const writer = await storeVia([other, follower, leader], prefix);
  const seen: StoreChange[] = [];
  let watchError: unknown;
  const cancel = watcher.watch(
    0,
    (c) => seen.push(c),
    (e) => (watchError = e),
  );
  const writes = writeLoops(writer, 1);
  try {
    await sleep(300);
    await cluster.kill(follower); // the watcher's member: its stream breaks, it goes on from `other`
    await sleep(500);
    cluster.start(follower);
    await cluster.waitHealthy();
    await cluster.moveLeader(other); // a leader change while the watcher is on the new leader
    await sleep(300);
    await cluster.kill(other); // the leader and the watcher's member: another leader change, the stream breaks
    const newLeader = await cluster.leader();
    assert.notEqual(newLeader, other);
    await sleep(300);
    cluster.start(other);
    await cluster.waitHealthy();
    await sleep(300);
  } finally {
    await writes.stop();
  }
  try {
    assert.deepEqual(writes.failed, [], "no write failed");
    const last = Math.max(...writes.acked.map((w) => w.revision));
    const deadline = Date.now() + 15_000;
    while ((seen.at(-1)?.revision ?? 0) < last && Date.now() < deadline && watchError === undefined) await sleep(50);
    assert.equal(watchError, undefined);
    // What was written, in revision order, object by object: a transaction's two objects at its revision.
    const expected = writes.acked
      .sort((a, b) => a.revision - b.revision)
      .flatMap((w) =>
        Number(w.name.split("-")[1]) % 3 === 2 ? [`${w.revision} cluster ${w.name}`, `${w.revision} listener ${w.name}`] : [`${w.revision} cluster ${w.name}`],
      );
    assert.ok(expected.length > 30, `only ${expected.length} changes written`);
    assert.deepEqual(
      seen.map((c) => `${c.revision} ${c.kind} ${c.name}`),
      expected,
    );
  } finally {
    cancel();
    await watcher.close();
    await writer.close();
  }
});

it("the leader killed during a stream of writes: every acknowledged write is there afterwards, none applied twice", async () => {
  const prefix = newPrefix();
  const leader = await cluster.leader();
  // The writer talks to the leader first: the kill cuts its calls in flight, whose outcome it must then find out.
  const writer = await storeVia([leader, (leader + 1) % 3, (leader + 2) % 3], prefix);
  const writes = writeLoops(writer, 4);
  // Waits for writes acknowledged, not for time: on a loaded machine a fixed sleep may see too few (bounded).
  const ackedAtLeast = async (n: number) => {
    const deadline = Date.now() + 20_000;
    while (writes.acked.length < n && Date.now() < deadline) await sleep(50);
  };
  try {
    await ackedAtLeast(10);
    await cluster.kill(leader);
    await cluster.leader();
    const before = writes.acked.length;
    await ackedAtLeast(before + 40);
  } finally {
    await writes.stop();
  }
  cluster.start(leader);
  await cluster.waitHealthy();
  const reader = await storeVia([leader, (leader + 1) % 3, (leader + 2) % 3], prefix);
  try {
    assert.deepEqual(writes.failed, [], "no write failed: the ones cut by the kill were resent and recognised");
    assert.ok(writes.acked.length > 40, `only ${writes.acked.length} writes acknowledged`);
    const { objects } = await reader.list("cluster");
    const stored = new Map(objects.map((o) => [o.name, o.revision]));
    for (const w of writes.acked) assert.equal(stored.get(w.name), w.revision, `acknowledged write ${w.name} at revision ${w.revision}`);
    // Once: the history holds one change per object written, each write at a revision of its own.
    const upTo = await reader.revision();
    const history = await watchUntil(reader, 0, (changes) => changes[changes.length - 1].revision >= upTo);
    const clusters = history.filter((c) => c.kind === "cluster");
    assert.equal(clusters.length, objects.length, "a cluster written twice");
    assert.equal(new Set(clusters.map((c) => c.revision)).size, clusters.length);
    assert.equal(objects.length, writes.acked.length, "a write the writer did not acknowledge was applied");
  } finally {
    await writer.close();
    await reader.close();
  }
});
