// The daemon's incremental reload path (merge/merged-load.ts snapshotsOfText with a TranslationCache): unchanged entries keep
// their messages (so they are neither translated nor encoded again), and every error is still reported with
// positions, whatever reader read the text first.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { parseConfig } from "../../src/config/load.js";
import { snapshotsOfText } from "../../src/merge/merged-load.js";
import { TranslationCache } from "../../src/config/translation-cache.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { checkSchema } from "../../src/config/schema.js";
import { settleStoreWrite } from "../../src/daemon/store-writes.js";
import { deepFreeze, UnlocatedSource } from "../../src/config/unlocated-source.js";
import { lines } from "./config-helpers.js";

const config = (port: number) =>
  lines(
    "clusters:",
    ...Array.from({ length: 50 }, (_, i) => `  - {name: c${i}, endpoints: ["10.0.0.${i + 1}:${i === 7 ? port : 80}"]}`),
    "listeners:",
    "  - {name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: c0}]}]}",
  );

test("a reload with one changed cluster reuses every other entry's messages", () => {
  const cache = new TranslationCache();
  const first = parseConfig(config(80), "a.yaml", {}, { cache });
  cache.commit();
  const second = parseConfig(config(81), "a.yaml", {}, { cache });
  cache.commit();
  assert.equal(first.positioned, false, "the fast reader read it");
  const changed = second.defaults.filter((r, i) => r.message !== first.defaults[i].message);
  assert.deepEqual(
    changed.map((r) => `${r.typeUrl.split(".").pop()} ${r.name}`),
    ["Cluster c7", "ClusterLoadAssignment c7"],
  );
  assert.equal(cache.count("cluster", "listener"), 51, "the cache holds what the last load used: 50 clusters and 1 listener");
  assert.equal(cache.count("yaml"), 51, "and the text of each as read: one unit per sequence item");
});

test("the fast reader and the cache give the same snapshots as a positioned read from scratch", () => {
  const cache = new TranslationCache();
  snapshotsOfText(config(80), "a.yaml", {}, cache);
  const incremental = snapshotsOfText(config(81), "a.yaml", {}, cache);
  const scratch = snapshotsOfText(config(81), "a.yaml");
  for (const type of [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration]) {
    assert.equal(incremental.defaults.typeVersion(type), scratch.defaults.typeVersion(type));
  }
});

test("errors found on the fast path are reported with line and column", () => {
  const cache = new TranslationCache();
  snapshotsOfText(config(80), "a.yaml", {}, cache);
  const schemaError = config(80).replace("port: 10000", "port: 99999");
  const missingCluster = config(80).replace("cluster: c0}", "cluster: nope}");
  for (const [text, line, message] of [
    [schemaError, 53, /port/],
    [missingCluster, 53, /"nope"/],
  ] as const) {
    assert.throws(
      () => snapshotsOfText(text, "a.yaml", {}, cache),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.length === 1 &&
        e.issues[0].location.line === line &&
        e.issues[0].location.column !== undefined &&
        message.test(e.issues[0].message),
    );
  }
  // A failed load evicted nothing: the next good one still finds every entry.
  assert.equal(cache.count("cluster", "listener"), 51);
});

test("texts with anchors, tags or several documents go to the positioned reader", () => {
  const cache = new TranslationCache();
  const anchored = lines("clusters:", '  - {name: a, endpoints: &e ["10.0.0.1:80"]}', "  - {name: b, endpoints: *e}");
  assert.equal(parseConfig(anchored, "a.yaml", {}, { cache }).positioned, true);
  assert.equal(parseConfig(lines("clusters: !!seq []"), "a.yaml", {}, { cache }).positioned, true);
  assert.equal(
    parseConfig(
      lines(
        'clusters: [{name: a, endpoints: ["10.0.0.1:80"]}]',
        "listeners: [{name: l, port: 1, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: a}]}]}]",
      ),
      "a.yaml",
      {},
      { cache },
    ).positioned,
    false,
  );
});

test("an entry edited from null to .inf is not taken for the cached one (JSON.stringify writes both as null)", () => {
  const cache = new TranslationCache();
  const runtime = (x: string) => lines("resources:", `  - {"@type": type.googleapis.com/envoy.service.runtime.v3.Runtime, name: rt, layer: {x: ${x}}}`);
  const first = parseConfig(runtime("null"), "a.yaml", {}, { cache });
  cache.commit();
  let second: ReturnType<typeof parseConfig> | undefined;
  try {
    second = parseConfig(runtime(".inf"), "a.yaml", {}, { cache });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
  }
  if (second) assert.notEqual(second.defaults[0].message, first.defaults[0].message);
});

test("the schema checks only items it has not passed before, and reports a new item's issue at its place", () => {
  const cache = new TranslationCache();
  const loaded = snapshotsOfText(config(80), "a.yaml", {}, cache);
  const document = loaded.fileDocument as { clusters: object[]; listeners: object[] };
  assert.ok(
    document.clusters.every((c) => Object.isFrozen(c)),
    "the fast reader's units are frozen, so their verdicts are kept",
  );
  // The 50 clusters passed before; the new one is checked, and its issue is said at its index in the whole list.
  const withBad = { ...document, clusters: [...document.clusters, deepFreeze({ name: "bad", endpoints: [{ address: "10.0.0.1" }] })] };
  const { issues } = checkSchema(UnlocatedSource.of("a.yaml", withBad));
  assert.deepEqual(
    issues.map((i) => i.location.path),
    ["clusters[50].endpoints[0]"],
  );
  // A verdict is kept per list: a cluster that passed is still checked as what it is put as.
  const misplaced = { ...document, listeners: [...document.listeners, document.clusters[0]] };
  assert.ok(checkSchema(UnlocatedSource.of("a.yaml", misplaced)).issues.some((i) => i.location.path?.startsWith("listeners[1]")));
});

test("a store write's load keeps the units of the file's text for the next reload", () => {
  const cache = new TranslationCache();
  const loaded = snapshotsOfText(config(80), "a.yaml", {}, cache);
  const base = { tag: 1, file: "a.yaml", fileDocument: loaded.fileDocument, objects: new Map(), snapshots: loaded, shadowed: [] };
  const { changes } = settleStoreWrite(base, [{ op: "put", kind: "cluster", name: "s", value: { endpoints: ["10.0.1.1:80"] } }], cache, 2);
  assert.deepEqual(
    changes.flatMap((c) => c.upsert.map((r) => `${r.typeUrl.split(".").pop()} ${r.name}`)),
    ["Cluster s", "ClusterLoadAssignment s"],
  );
  assert.equal(cache.count("yaml"), 51, "the write read no text, and dropped none of its units");
  assert.equal(cache.count("cluster"), 51, "and holds the new cluster's translation beside the file's");
});
