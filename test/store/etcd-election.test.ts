// The leader election on a real 3-member etcd (issue 20 item 2, store/etcd-election.ts): of the candidates on one
// prefix exactly one leads; when the leader closes, another leads at once; when the leader's process stops
// renewing its lease (a crash), another leads within the lease TTL, and the old one has stepped down before;
// with etcd gone, the leader steps down, and once etcd is back one candidate leads again.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, it } from "node:test";
import type { EtcdElection } from "../../src/store/etcd-election.js";
import { EtcdStore } from "../../src/store/etcd-store.js";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd.js";

let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster();
});
after(() => cluster?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ttlSeconds = 2;

/** A candidate on its own store (connections): what a replica is. Its changes, timed, in `changes`. */
async function candidate(prefix: string, name: string, callTimeoutMs = 2_000) {
  const store = await EtcdStore.open({ endpoints: cluster.endpoints, prefix, callTimeoutMs });
  const election = store.election({ ttlSeconds, candidate: name });
  const changes: { leads: boolean; at: number }[] = [];
  election.onChange((leads) => changes.push({ leads, at: Date.now() }));
  election.start();
  return { name, store, election, changes };
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - start;
}

const leaders = <C extends { election: EtcdElection }>(cs: C[]): C[] => cs.filter((c) => c.election.isLeader);

it("of three candidates exactly one leads; when it closes (its lease revoked), another leads at once", async (t) => {
  const prefix = `/xdsd-election/${randomBytes(4).toString("hex")}/`;
  const cs = await Promise.all(["a", "b", "c"].map((n) => candidate(prefix, n)));
  try {
    await until("a leader", () => leaders(cs).length === 1, 10_000);
    // Held for a while: never two, never none.
    for (let i = 0; i < 25; i++) {
      assert.equal(leaders(cs).length, 1, `leaders: ${leaders(cs).map((c) => c.name)}`);
      await sleep(40);
    }
    const first = leaders(cs)[0];
    const { kvs } = await cluster.client.range({ key: Buffer.from(`${prefix}leader`) });
    assert.equal(kvs[0]?.value.toString(), first.name, "the leader key names the leader");
    await first.election.close();
    assert.equal(first.election.isLeader, false);
    const rest = cs.filter((c) => c !== first);
    // Revoked: no waiting for the TTL.
    const took = await until("another leader", () => leaders(rest).length === 1, ttlSeconds * 1000);
    t.diagnostic(`the next leader led ${took} ms after a clean close`);
    assert.ok(took < 1_000, `the next leader took ${took} ms after a clean close`);
    assert.equal(leaders(cs).length, 1);
  } finally {
    for (const c of cs) {
      await c.election.close();
      await c.store.close();
    }
  }
});

it("a leader that stops renewing its lease (its process gone) steps down before another leads, within the lease TTL", async (t) => {
  const prefix = `/xdsd-election/${randomBytes(4).toString("hex")}/`;
  const cs = await Promise.all(["a", "b"].map((n) => candidate(prefix, n)));
  try {
    await until("a leader", () => leaders(cs).length === 1, 10_000);
    const [old] = leaders(cs);
    const next = cs.find((c) => c !== old)!;
    // Its connections closed without revoking: etcd hears nothing more from it, as after kill -9.
    const cutAt = Date.now();
    await old.store.close();
    const took = await until("the other to lead", () => next.election.isLeader, (ttlSeconds + 3) * 1000);
    // etcd expires the lease a TTL after its last renewal (renewals every TTL/3), checking every 500 ms.
    t.diagnostic(`the other led ${took} ms after the leader went silent (TTL ${ttlSeconds} s)`);
    assert.ok(took <= ttlSeconds * 1000 + 1_500, `the other led ${took} ms after the leader went silent`);
    const stepDown = old.changes.find((c) => !c.leads);
    assert.ok(stepDown, "the silent leader stepped down");
    const newLead = next.changes.find((c) => c.leads)!;
    assert.ok(stepDown.at < newLead.at, `stepped down at +${stepDown.at - cutAt} ms, the other led at +${newLead.at - cutAt} ms`);
  } finally {
    for (const c of cs) {
      await c.election.close();
      await c.store.close();
    }
  }
});

it("etcd gone: the leader steps down within two thirds of the TTL; etcd back: one candidate leads again", async () => {
  const prefix = `/xdsd-election/${randomBytes(4).toString("hex")}/`;
  const cs = await Promise.all(["a", "b"].map((n) => candidate(prefix, n, 1_000)));
  try {
    await until("a leader", () => leaders(cs).length === 1, 10_000);
    const [old] = leaders(cs);
    const cutAt = Date.now();
    await Promise.all([0, 1, 2].map((i) => cluster.kill(i)));
    await until("the leader to step down", () => !old.election.isLeader, ttlSeconds * 1000 + 1_000);
    const stepDown = old.changes.find((c) => !c.leads)!;
    assert.ok(stepDown.at - cutAt <= (2 * ttlSeconds * 1000) / 3 + 500, `stepped down ${stepDown.at - cutAt} ms after etcd went`);
    assert.equal(leaders(cs).length, 0);
    for (const i of [0, 1, 2]) cluster.start(i);
    await cluster.waitHealthy(20_000);
    // The old lease may still be alive (etcd extends leases when a leader is elected): at most a TTL and a bit.
    await until("a leader again", () => leaders(cs).length === 1, (ttlSeconds + 5) * 1000);
    for (let i = 0; i < 10; i++) {
      assert.equal(leaders(cs).length, 1);
      await sleep(50);
    }
  } finally {
    for (const c of cs) {
      await c.election.close();
      await c.store.close();
    }
  }
});
