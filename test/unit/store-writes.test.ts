// Store writes are settled from the config worker's last load (config/store-writes.ts), not by loading the whole
// config again. They must come to exactly what loading everything comes to: the same verdict (accepted, or refused
// with the same issues at the same places, or the same conflict) and, when accepted, the same served resources,
// byte for byte, in the default snapshot and in every node group's. Two reloaders over the same file take the same
// random sequence of writes of every kind — endpoints, clusters, listeners, raw resources, node groups, valid and
// not — one settling them incrementally and one the whole way, and are compared after every write. File edits,
// dry runs and conflicts come in between: after each, the incremental path must still start from what is served.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { ConfigReloader } from "../../src/daemon/reloader.js";
import { ConfigError, XdsdError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { ObjectValue, StoreOperation } from "../../src/store/store.js";
import { lines } from "./config-helpers.js";

const clusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

function fileText(edit: number): string {
  return lines(
    "clusters:",
    '  - {name: web, endpoints: ["127.0.0.1:80", {address: 127.0.0.2, port: 80, weight: 3}]}',
    "  - {name: grpc, lb_policy: ROUND_ROBIN, ttl: 30s, endpoints: []}",
    `  - {name: zoned, endpoints: [{address: 127.0.0.3, port: ${80 + (edit % 3)}, locality: {zone: a}}]}`,
    "listeners:",
    "  - {name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: web}]}]}",
    "nodes:",
    '  edge/one: {clusters: [{name: web, endpoints: ["127.0.0.5:80"]}]}',
    // The groups without identities of their own take these (model.ts readersOf).
    edit % 2 === 1 ? "identities: [spiffe://acme.test/edge/*]" : "# every client",
  );
}

/** A reloader over `path` with a store of its own; `fast` counts writes the incremental path settled. */
async function daemon(path: string, incrementalWrites: boolean) {
  const store = await SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-store-writes-")));
  const cache = new SnapshotCache();
  const counts = { fast: 0 };
  const settled = (m: string) => {
    if (/store object\(s\) written/.test(m)) counts.fast++;
  };
  const log: Logger = { debug: settled, info: settled, warn: () => {}, error: () => {} };
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

function writeOf(next: () => number): StoreOperation[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const host = () => pick(["127.0.0.1", "127.0.0.9", "10.0.0.1", "::1", "not-an-ip"]);
  const r = next();
  let op: StoreOperation;
  if (r < 0.4) {
    // An endpoint of a file cluster, a store cluster, or no cluster.
    const cluster = pick(["web", "grpc", "zoned", "api", "s1", "missing"]);
    const address = host();
    const port = pick([80, 81, 8080]);
    const name = `${cluster}/${address.includes(":") ? `[${address}]` : address}:${port}`;
    if (next() < 0.25) op = { op: "delete", kind: "endpoint", name };
    else {
      const value: Record<string, unknown> = { address, port };
      if (next() < 0.3) value.weight = pick([1, 5, 0]);
      if (next() < 0.2) value.priority = pick([0, 1, 3]);
      if (next() < 0.2) value.health_status = pick(["DRAINING", "UNHEALTHY", "SLEEPY"]);
      if (next() < 0.2) value.locality = { zone: pick(["a", "b"]) };
      op = { op: "put", kind: "endpoint", name, value: value as ObjectValue };
    }
  } else if (r < 0.6) {
    const name = pick(["api", "s1", "s2", "web"]);
    if (next() < 0.3) op = { op: "delete", kind: "cluster", name };
    else {
      const value: Record<string, unknown> = { endpoints: [`${host()}:${pick([80, 81])}`] };
      if (next() < 0.3) value.lb_policy = pick(["RING_HASH", "MAGLEV", "ROUND_ROBIN"]);
      if (next() < 0.1) value.ttl = pick(["10s", "0s"]);
      op = { op: "put", kind: "cluster", name, value: value as ObjectValue };
    }
  } else if (r < 0.75) {
    const name = pick(["l2", "l3", "l"]);
    if (next() < 0.3) op = { op: "delete", kind: "listener", name };
    else {
      const grpc = next() < 0.3;
      const route = { prefix: "/", cluster: pick(["web", "api", "s1", "missing"]) };
      const value: Record<string, unknown> = grpc
        ? { grpc: true, virtual_hosts: [{ name: "v", domains: [pick([name, "*", "other"])], routes: [route] }] }
        : { port: pick([10000, 10001, 10002]), virtual_hosts: [{ name: "v", domains: ["*"], routes: [route] }] };
      op = { op: "put", kind: "listener", name, value: value as ObjectValue };
    }
  } else if (r < 0.87) {
    const name = pick(["raw1", "raw2"]);
    if (next() < 0.3) op = { op: "delete", kind: "resource", name: `${clusterType}/${name}` };
    else {
      const value = { "@type": clusterType, name, type: "STATIC", connect_timeout: pick(["1s", "2s", "-1s"]) };
      op = { op: "put", kind: "resource", name: `${clusterType}/${name}`, value };
    }
  } else {
    const name = pick(["edge/two", "edge/three", "edge/one"]);
    if (next() < 0.3) op = { op: "delete", kind: "node-group", name };
    else {
      const group = next() < 0.2 ? {} : { clusters: [{ name: pick(["web", "x"]), endpoints: [`${host()}:80`] }] };
      // Who may read the group (its snapshot's readers) changes on its own too, with the resources unchanged.
      const value = next() < 0.4 ? { ...group, identities: [pick(["spiffe://acme.test/edge/*", "db.acme.test", "spiffe://acme.test/*/x"])] } : group;
      op = { op: "put", kind: "node-group", name, value };
    }
  }
  // Now and then two objects in one transaction.
  return next() < 0.15 ? [op, ...writeOf(next)] : [op];
}

/** What a reloader serves: every snapshot's readers (identities), type versions and resources' bytes. */
function served(cache: SnapshotCache): Record<string, string> {
  const out: Record<string, string> = {};
  const groups: [string, ReturnType<SnapshotCache["defaultSnapshot"]>][] = [
    ["", cache.defaultSnapshot()],
    ...cache.keys().map((k) => [k, cache.snapshotFor(k)] as [string, ReturnType<SnapshotCache["defaultSnapshot"]>]),
  ];
  for (const [group, s] of groups) {
    out[`${group} readers`] = JSON.stringify(s!.readers?.patterns ?? null);
    for (const typeUrl of s!.typeUrls()) {
      out[`${group} ${typeUrl}`] = s!.typeVersion(typeUrl);
      for (const [name, r] of s!.resources(typeUrl)) out[`${group} ${typeUrl} ${name}`] = Buffer.from(r.any.value).toString("base64");
    }
  }
  return out;
}

async function outcome(d: Awaited<ReturnType<typeof daemon>>, ops: StoreOperation[]) {
  try {
    await d.reloader.write(ops);
  } catch (err) {
    if (err instanceof ConfigError)
      return { refused: err.issues.map((i) => `${i.location.file} ${i.location.path ?? ""} ${i.location.line ?? ""} ${i.message}`) };
    if (err instanceof XdsdError) return { refused: [`${err.code} ${err.message}`] };
    throw err;
  }
  return { served: served(d.cache) };
}

test("store writes settled incrementally come to what loading the whole config comes to, 300 random writes of every kind", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-store-writes-"));
  const path = join(dir, "xdsd.yaml");
  writeFileSync(path, fileText(0));
  const fast = await daemon(path, true);
  const full = await daemon(path, false);
  const next = random(0x5eed);
  const tally = { accepted: 0, refused: 0, edits: 0, dryRuns: 0, conflicts: 0 };
  try {
    for (let i = 0; i < 300; i++) {
      const r = next();
      if (r < 0.04) {
        // The file changes: both load it whole; the next write settles from what that load made.
        writeFileSync(path, fileText(++tally.edits));
        await Promise.all([fast.reloader.reload(), full.reloader.reload()]);
        assert.deepEqual(served(fast.cache), served(full.cache), `edit before write ${i}`);
        continue;
      }
      const ops = writeOf(next);
      if (r < 0.08) {
        // A dry run is checked and forgotten: it must not become the base of the next write.
        tally.dryRuns++;
        const before = served(fast.cache);
        await fast.reloader.write(ops, { dryRun: true }).catch((err: unknown) => {
          if (!(err instanceof XdsdError)) throw err;
        });
        assert.deepEqual(served(fast.cache), before, `dry run ${i} changed what is served`);
        continue;
      }
      if (r < 0.11) {
        // A condition that does not hold: refused before anything is loaded or stored.
        tally.conflicts++;
        ops[0] = { ...ops[0], ifRevision: 999_999 };
      }
      const a = await outcome(fast, ops);
      const b = await outcome(full, ops);
      assert.deepEqual(a, b, `write ${i}: ${JSON.stringify(ops)}`);
      if ("served" in a) tally.accepted++;
      else tally.refused++;
    }
  } finally {
    await Promise.all([fast.reloader.close(), full.reloader.close()]);
    fast.store.close();
    full.store.close();
  }
  // Every kind of outcome was compared, and the accepted writes really took the incremental path.
  console.log(JSON.stringify(tally));
  assert.ok(tally.accepted >= 80 && tally.refused >= 40 && tally.edits >= 3 && tally.dryRuns >= 3 && tally.conflicts >= 3, JSON.stringify(tally));
  assert.equal(fast.counts.fast, tally.accepted);
  assert.equal(full.counts.fast, 0);
});
