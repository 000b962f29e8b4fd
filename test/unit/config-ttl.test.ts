// `ttl:` in the config: on short-form clusters and listeners and beside a raw resource's "@type"; it reaches the
// snapshot (through the worker's transfer too) as the resource's TTL, and a TTL under a second is refused where
// it is written.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../src/config/index.js";
import { snapshotsOf } from "../../src/config/snapshots.js";
import { fromTransferable, toTransferable } from "../../src/daemon/transferable-snapshots.js";
import { ConfigError } from "../../src/errors.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { resourceTypes } from "../../src/resource/types.js";
import { lines } from "./config-helpers.js";

const text = lines(
  'clusters: [{name: c, ttl: 30s, endpoints: ["127.0.0.1:80"]}, {name: d, endpoints: []}]',
  "listeners:",
  "  - {name: l, port: 10000, ttl: 1.5s, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: c}]}]}",
  "resources:",
  '  - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  "    ttl: 60s",
  "    name: s",
);

test("ttl on a cluster, a listener and a raw resource becomes the TTL of exactly those resources", () => {
  const { defaults } = snapshotsOf(parseConfig(text, "ttl.yaml"));
  const ttl = (typeUrl: string, name: string) => defaults.resources(typeUrl).get(name)?.ttlMs;
  assert.equal(ttl(TypeUrl.Cluster, "c"), 30_000);
  assert.equal(ttl(TypeUrl.ClusterLoadAssignment, "c"), undefined, "the TTL is the cluster's, not its endpoints'");
  assert.equal(ttl(TypeUrl.Cluster, "d"), undefined);
  assert.equal(ttl(TypeUrl.Listener, "l"), 1500);
  assert.equal(ttl(TypeUrl.RouteConfiguration, "l"), undefined);
  assert.equal(ttl(TypeUrl.Secret, "s"), 60_000);
  // Through the worker's transfer, unchanged (versions too: a TTL is part of the version).
  const { payload } = toTransferable(snapshotsOf(parseConfig(text, "ttl.yaml")));
  const back = fromTransferable(payload).defaults;
  for (const typeUrl of defaults.typeUrls()) {
    for (const [name, r] of defaults.resources(typeUrl)) {
      assert.deepEqual([back.resources(typeUrl).get(name)?.ttlMs, back.resources(typeUrl).get(name)?.version], [r.ttlMs, r.version]);
    }
  }
});

test("a TTL under a second, or not a duration, is refused at its key", () => {
  for (const [bad, expected] of [
    ["clusters: [{name: c, ttl: 0.5s, endpoints: []}]", /^must be a duration in seconds from 1s, like "30s"$/],
    ["clusters: [{name: c, ttl: 30m, endpoints: []}]", /must be a duration in seconds, like "5s"/],
    ["clusters: [{name: c, ttl: 30, endpoints: []}]", /must be a string, not the number 30/],
  ] as const) {
    assert.throws(
      () => parseConfig(lines(bad), "bad.yaml"),
      (e: unknown) =>
        e instanceof ConfigError && e.issues[0].location.line === 1 && e.issues[0].location.path === "clusters[0].ttl" && expected.test(e.issues[0].message),
    );
  }
});

test("no registered type has a field named ttl, so the raw resource key cannot shadow one", () => {
  for (const t of resourceTypes)
    assert.equal(
      t.schema.fields.find((f) => f.name === "ttl"),
      undefined,
      t.typeUrl,
    );
});
