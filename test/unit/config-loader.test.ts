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
