// Store writes of endpoints only are settled without loading the whole config (config/endpoint-writes.ts). They
// must come to exactly what loading everything comes to: the same verdict (accepted, or refused with the same
// issues at the same places) and, when accepted, the same served resources, byte for byte. Two daemons' reloaders
// over the same file take the same random sequence of endpoint writes, one with the incremental path and one
// without, and are compared after every write.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { ConfigReloader } from "../../src/config/reloader.js";
import { ConfigError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { ObjectValue, StoreOperation } from "../../src/store/store.js";
import { lines } from "./config-helpers.js";

const file = lines(
  "clusters:",
  '  - {name: web, endpoints: ["127.0.0.1:80", {address: 127.0.0.2, port: 80, weight: 3}]}',
  "  - {name: grpc, lb_policy: ROUND_ROBIN, ttl: 30s, endpoints: []}",
  "  - {name: zoned, endpoints: [{address: 127.0.0.3, port: 80, locality: {zone: a}}]}",
  "listeners:",
  "  - {name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: web}]}]}",
);

/** A reloader over `path` with a store of its own; `fast` counts writes the incremental path settled. */
async function daemon(path: string, incrementalWrites: boolean) {
  const store = await SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-endpoint-writes-")));
  const cache = new SnapshotCache();
  const counts = { fast: 0 };
  const fastPath = (m: string) => {
    if (/endpoints of \d+ store object\(s\) changed|store object\(s\) written, nothing served changed/.test(m)) counts.fast++;
  };
  const log: Logger = {
    debug: fastPath,
    info: fastPath,
    warn: () => {},
    error: () => {},
  };
  const reloader = new ConfigReloader(path, cache, log, { store, incrementalWrites });
  await reloader.loadInitial();
  return { reloader, cache, store, counts };
}

/** A deterministic pseudo-random sequence (xorshift), so that a failure replays. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function writeOf(next: () => number, registered: string[]): StoreOperation[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const cluster = pick(["web", "grpc", "zoned", "api", "missing"]);
  const r = next();
  if (r < 0.2 && registered.length > 0) return [{ op: "delete", kind: "endpoint", name: pick(registered) }];
  const host = pick(["127.0.0.1", "127.0.0.9", "10.0.0.1", "::1", "not-an-ip"]);
  const port = pick([80, 81, 8080]);
  const value: Record<string, unknown> = { address: host, port };
  if (next() < 0.3) value.weight = pick([1, 5, 0]);
  if (next() < 0.2) value.priority = pick([0, 1, 3]);
  if (next() < 0.2) value.health_status = pick(["DRAINING", "UNHEALTHY", "SLEEPY"]);
  if (next() < 0.2) value.locality = { zone: pick(["a", "b"]) };
  if (next() < 0.1) value.metadata = { "envoy.lb": { canary: true } };
  const put: StoreOperation = {
    op: "put",
    kind: "endpoint",
    name: `${cluster}/${host.includes(":") ? `[${host}]` : host}:${port}`,
    value: value as ObjectValue,
  };
  // Now and then two endpoints in one transaction, possibly of two clusters.
  if (next() < 0.15)
    return [put, { op: "put", kind: "endpoint", name: `web/127.0.0.${Math.floor(next() * 200) + 10}:90`, value: { address: "127.0.0.5", port: 90 } }];
  return [put];
}

async function outcome(d: Awaited<ReturnType<typeof daemon>>, ops: StoreOperation[]) {
  try {
    await d.reloader.write(ops);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { refused: err.issues.map((i) => `${i.location.file} ${i.location.path ?? ""} ${i.location.line ?? ""} ${i.message}`) };
  }
  const s = d.cache.defaultSnapshot()!;
  const served: Record<string, string> = {};
  for (const typeUrl of s.typeUrls()) {
    served[typeUrl] = s.typeVersion(typeUrl);
    for (const [name, r] of s.resources(typeUrl)) served[`${typeUrl} ${name}`] = Buffer.from(r.any.value).toString("base64");
  }
  return { served };
}

test("endpoint writes settled incrementally come to what loading the whole config comes to, 200 random writes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-endpoint-writes-"));
  const path = join(dir, "xdsd.yaml");
  writeFileSync(path, file);
  const fast = await daemon(path, true);
  const full = await daemon(path, false);
  const next = random(0x5eed);
  const registered: string[] = [];
  let accepted = 0;
  let refused = 0;
  try {
    // A cluster the store defines: its endpoints are merged into the store's entry, not the file's.
    const api: StoreOperation[] = [{ op: "put", kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:81"], lb_policy: "RING_HASH" } }];
    assert.deepEqual(await outcome(fast, api), await outcome(full, api));
    for (let i = 0; i < 200; i++) {
      const ops = writeOf(next, registered);
      const a = await outcome(fast, ops);
      const b = await outcome(full, ops);
      assert.deepEqual(a, b, `write ${i}: ${JSON.stringify(ops)}`);
      if ("served" in a) {
        accepted++;
        for (const o of ops) {
          if (o.op === "put" && !registered.includes(o.name)) registered.push(o.name);
          if (o.op === "delete") registered.splice(registered.indexOf(o.name), 1);
        }
      } else refused++;
    }
  } finally {
    await Promise.all([fast.reloader.close(), full.reloader.close()]);
    fast.store.close();
    full.store.close();
  }
  // Both kinds of outcome were compared, and the accepted writes really took the incremental path.
  console.log(`accepted ${accepted}, refused ${refused}`);
  assert.ok(accepted >= 50 && refused >= 20, `accepted ${accepted}, refused ${refused}`);
  assert.equal(fast.counts.fast, accepted);
  assert.equal(full.counts.fast, 0);
});
