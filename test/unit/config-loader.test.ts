// The config worker's lifecycle (config-loader.ts): a load that takes too long is refused and the worker replaced;
// a closed loader refuses loads without calling them invalid configs.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigLoader, ConfigLoaderClosedError, ConfigLoadError } from "../../src/daemon/config-loader.js";

const dir = mkdtempSync(join(tmpdir(), "xdsd-loader-"));
const small = join(dir, "small.yaml");
writeFileSync(small, 'clusters: [{name: a, endpoints: ["127.0.0.1:80"]}]\n');
const big = join(dir, "big.yaml");
writeFileSync(big, `clusters:\n${Array.from({ length: 20_000 }, (_, i) => `  - {name: c${i}, endpoints: ["127.0.0.1:80"]}`).join("\n")}\n`);

test("a load over the time limit is refused, and the next load gets a new worker", { timeout: 60_000 }, async () => {
  const loader = new ConfigLoader({ loadTimeoutMs: 50 });
  try {
    await assert.rejects(
      loader.load(big),
      (e: unknown) => e instanceof ConfigLoadError && /took longer than 0\.05 s; it was refused and the config worker restarted/.test(e.message),
    );
  } finally {
    await loader.close();
  }
  const patient = new ConfigLoader();
  try {
    const r = await patient.load(small);
    assert.equal(r.kind, "loaded");
    assert.equal((await patient.load(small, { knownVersion: r.version })).kind, "unchanged");
  } finally {
    await patient.close();
  }
});

test("after close, a load is refused as closed, not as an invalid config", async () => {
  const loader = new ConfigLoader();
  await loader.close();
  await assert.rejects(loader.load(small), (e: unknown) => e instanceof ConfigLoaderClosedError);
});

test("a reload of the state served crosses as its changes: the groups and types that did not change are the served objects", async () => {
  const file = join(dir, "groups.yaml");
  const text = (port: number) =>
    [
      "clusters:",
      `  - {name: a, endpoints: ["127.0.0.1:${port}"]}`,
      '  - {name: b, endpoints: ["127.0.0.2:80"]}',
      "nodes:",
      '  edge: {clusters: [{name: e, endpoints: ["127.0.0.3:80"]}]}',
      "",
    ].join("\n");
  writeFileSync(file, text(80));
  const loader = new ConfigLoader();
  try {
    const first = await loader.load(file);
    assert.equal(first.kind, "loaded");
    if (first.kind !== "loaded") return;
    writeFileSync(file, text(81));
    const second = await loader.load(file, { knownVersion: first.version, served: { state: first.state, snapshots: first.snapshots } });
    assert.equal(second.kind, "loaded");
    if (second.kind !== "loaded") return;
    const eds = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    const cds = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    assert.equal(second.snapshots.nodes.get("edge"), first.snapshots.nodes.get("edge"), "the unchanged group is the served snapshot");
    const [was, now] = [first.snapshots.defaults, second.snapshots.defaults];
    assert.equal(now.resources(cds), was.resources(cds), "the unchanged type's map is the served one");
    assert.equal(now.resources(eds).get("b"), was.resources(eds).get("b"), "an unchanged resource is the served object");
    assert.notEqual(now.resources(eds).get("a")?.version, was.resources(eds).get("a")?.version, "the changed one is new");
    // And it is what a load from nothing makes, byte for byte.
    const fresh = new ConfigLoader();
    try {
      const whole = await fresh.load(file);
      assert.equal(whole.kind, "loaded");
      if (whole.kind !== "loaded") return;
      const served = (s: typeof now) =>
        s
          .typeUrls()
          .flatMap((t) => [...s.resources(t).values()].map((r) => [t, r.name, r.version, Buffer.from(r.any.value).toString("base64")].join(" ")))
          .sort();
      assert.deepEqual(served(now), served(whole.snapshots.defaults));
      assert.deepEqual(served(second.snapshots.nodes.get("edge")!), served(whole.snapshots.nodes.get("edge")!));
    } finally {
      await fresh.close();
    }
  } finally {
    await loader.close();
  }
});
