// Racing writers on two replicas of one etcd store (issue 20, "Prove it"): one deletes cluster x while the other
// adds a listener routing to x, 200 rounds. Each write is validated at a store revision and committed only if the
// store is still there (store-wide condition), so the two can never both land: the store never holds a listener
// routing to a missing cluster. Every write answers 2xx, or refuses cleanly: 422 when the other write landed first
// (what it would make is invalid), 409 when it lost the race more times than the retries allow. Afterwards the
// store's content passes `xdsd validate`, and every replica restarts on it and serves the same versions.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { EtcdStore } from "../../src/store/etcd-store.js";
import { freePort } from "../support/ports.js";
import { type ReplicaSet, startReplicas } from "../support/replicas.js";
import { runXdsd } from "../support/xdsd.js";

const rounds = 200;
const deadlineMs = 60_000;

let set: ReplicaSet;
let store: EtcdStore;
let config: { clusters: Record<string, unknown>[]; listeners: Record<string, unknown>[] };
let listenPort = 0;

before(async () => {
  listenPort = await freePort();
  config = {
    clusters: [{ name: "base", endpoints: ["127.0.0.1:9"] }],
    listeners: [
      { name: "l0", address: "127.0.0.1", port: await freePort(), virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ prefix: "/", cluster: "base" }] }] },
    ],
  };
  // JSON is YAML: the replicas read it as their config file.
  set = await startReplicas(JSON.stringify(config));
  store = await EtcdStore.open({ endpoints: set.etcd.endpoints, prefix: set.prefix });
});
after(async () => {
  await store?.close();
  await set?.stop();
});

const listenerToX = () => ({
  address: "127.0.0.1",
  port: listenPort,
  virtual_hosts: [{ name: "vx", domains: ["*"], routes: [{ prefix: "/", cluster: "x" }] }],
});

/** The store's clusters and listeners, by name. */
async function stored() {
  const { objects } = await store.list();
  const of = (kind: string) => new Map(objects.filter((o) => o.kind === kind).map((o) => [o.name, o.value as Record<string, unknown>]));
  return { clusters: of("cluster"), listeners: of("listener") };
}

it(`${rounds} rounds of "delete cluster x" on one replica against "add a listener routing to x" on another`, async () => {
  const t0 = Date.now();
  const outcomes = new Map<string, number>();
  // Round state: x exists and lx does not; the race; then back to that state with one write.
  let put = await set.api(0, "PUT", "/v1/clusters/x", { endpoints: ["127.0.0.1:9"] });
  assert.equal(put.status, 201, put.body);
  for (let round = 0; round < rounds; round++) {
    assert.ok(Date.now() - t0 < deadlineMs, `only ${round} rounds in ${deadlineMs} ms`);
    const [del, add] = await Promise.all([set.api(1, "DELETE", "/v1/clusters/x"), set.api(2, "PUT", "/v1/listeners/lx", listenerToX())]);
    const key = `delete ${del.status}, add ${add.status}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    for (const [what, answer] of [
      ["delete", del],
      ["add", add],
    ] as const) {
      assert.ok([200, 201, 409, 422].includes(answer.status), `round ${round}: ${what} answered ${answer.status}: ${answer.body}`);
    }
    assert.ok(!(del.status < 300 && add.status < 300), `round ${round}: both writes landed`);

    const { clusters, listeners } = await stored();
    assert.ok(!listeners.has("lx") || clusters.has("x"), `round ${round}: the store holds listener lx routing to x, and no cluster x (${key})`);
    if (listeners.has("lx")) put = await set.api(0, "DELETE", "/v1/listeners/lx");
    else if (!clusters.has("x")) put = await set.api(0, "PUT", "/v1/clusters/x", { endpoints: ["127.0.0.1:9"] });
    assert.ok(put.status < 300, `round ${round}: putting x back or deleting lx: ${put.status} ${put.body}`);
  }
  console.log(`# ${rounds} rounds in ${Date.now() - t0} ms: ${[...outcomes].map(([k, n]) => `${k}: ${n}`).join("; ")}`);

  // The store's content, with the file, as one config: what `xdsd validate` says of it.
  const { clusters, listeners } = await stored();
  const merged = {
    clusters: [...config.clusters, ...[...clusters].map(([name, value]) => ({ name, ...value }))],
    listeners: [...config.listeners, ...[...listeners].map(([name, value]) => ({ name, ...value }))],
  };
  const file = join(mkdtempSync(join(tmpdir(), "xdsd-race-")), "store.json");
  writeFileSync(file, JSON.stringify(merged));
  const validated = await runXdsd(["validate", "--config", file]);
  assert.equal(validated.code, 0, validated.stdout + validated.stderr);

  // Every replica restarts on the store cleanly, and they agree.
  for (const i of [0, 1, 2]) {
    assert.equal(await set.replicas[i]!.stop(), 0, `replica ${i} stopped cleanly`);
    set.replicas[i] = undefined;
  }
  for (const i of [0, 1, 2]) await set.start(i);
  const views = await Promise.all([0, 1, 2].map((i) => set.admin<{ config: { lastError?: unknown } }>(i, "/config")));
  assert.deepEqual(
    views.map((v) => v.config.lastError),
    [undefined, undefined, undefined],
  );
  const versions = await Promise.all([0, 1, 2].map((i) => set.versions(i)));
  assert.deepEqual(versions[1], versions[0]);
  assert.deepEqual(versions[2], versions[0]);
});
