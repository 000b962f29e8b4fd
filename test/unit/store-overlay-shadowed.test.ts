// Store objects the file takes the place of (store-overlay.ts, issue 18 item 3): a name the file defines, or an
// endpoint its cluster lists already, leaves the store's object out — reported as shadowed, never a reason to
// refuse the whole config (a restart must not fail on state a running daemon accepted) — while the same clash in an
// object being written is an issue at its store path, and the write is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMerged } from "../../src/merge/merged-load.js";
import { overlayKey, type OverlayObject } from "../../src/merge/store-overlay.js";
import { ConfigError } from "../../src/errors.js";
import type { ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { lines } from "./config-helpers.js";

const file = lines(
  "clusters:",
  "  - name: web",
  '    endpoints: ["127.0.0.1:80"]',
  "listeners: [{name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: web}]}]}]",
  "nodes: {edge: {clusters: [{name: e, endpoints: []}]}}",
);
const endpoint = (name: string, address: string, port: number): OverlayObject => ({ kind: "endpoint", name, value: { address, port } });

const load = (overlay: OverlayObject[], written: OverlayObject[] = []) =>
  parseMerged(file, "f.yaml", {}, { overlay, written: new Set(written.map((o) => overlayKey(o.kind, o.name))) });

const servedPorts = (config: ReturnType<typeof load>, cluster: string) =>
  (config.defaults.find((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment && r.name === cluster)!.message as ClusterLoadAssignment).endpoints
    .flatMap((l) => l.lbEndpoints)
    .map((e) => {
      const a = e.hostIdentifier.case === "endpoint" ? e.hostIdentifier.value.address?.address : undefined;
      return a?.case === "socketAddress" ? `${a.value.address}:${a.value.portSpecifier.value}` : "";
    });

test("a store object whose name the file defines is left out and reported; the file's is served", () => {
  const overlay: OverlayObject[] = [
    { kind: "cluster", name: "web", value: { endpoints: ["127.0.0.1:81"] } },
    { kind: "resource", name: `${TypeUrl.Cluster}/web`, value: { "@type": TypeUrl.Cluster, name: "web", type: "STATIC" } },
    { kind: "listener", name: "l2", value: { port: 10001, route_config_name: "l", virtual_hosts: [] } },
    { kind: "node-group", name: "edge", value: { clusters: [] } },
    { kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:82"] } },
  ];
  const config = load(overlay);
  assert.deepEqual(
    config.shadowed.map((s) => [s.kind, s.name, s.reason, s.by.path]),
    [
      ["cluster", "web", 'the config file defines cluster "web"', "clusters[0]"],
      ["resource", `${TypeUrl.Cluster}/web`, 'the config file defines cluster "web"', "clusters[0]"],
      ["listener", "l2", 'the config file defines listener "l"', "listeners[0]"],
      ["node-group", "edge", 'the config file defines node group "edge"', "nodes.edge"],
    ],
  );
  assert.deepEqual(servedPorts(config, "web"), ["127.0.0.1:80"]);
  assert.ok(
    config.defaults.some((r) => r.name === "api"),
    "the others are served",
  );
  assert.equal(config.nodes.get("edge")?.find((r) => r.typeUrl === TypeUrl.Cluster)?.name, "e");
});

test("the same clash in an object being written is an issue at its store path", () => {
  const web: OverlayObject = { kind: "cluster", name: "web", value: { endpoints: [] } };
  assert.throws(
    () => load([web], [web]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.length === 1 &&
      e.issues[0].location.path === "clusters.web" &&
      /^the config file defines cluster "web", at f\.yaml:2:\d+ \(clusters\[0\]\); a name belongs to one source$/.test(e.issues[0].message),
  );
});

test("an endpoint object its cluster lists already, in any spelling, is left out; written, it is refused", () => {
  const legacy = [endpoint("web/127.0.0.1:080", "127.0.0.1", 80), endpoint("web/[0:0::1]:80", "0:0::1", 80), endpoint("web/[::1]:80", "::1", 80)];
  const config = load(legacy);
  assert.deepEqual(
    config.shadowed.map((s) => [s.name, s.reason, s.by.path]),
    [
      ["web/127.0.0.1:080", "endpoint 127.0.0.1:80 is listed already", "clusters[0].endpoints[0]"],
      ["web/[::1]:80", "endpoint [::1]:80 is listed already", 'endpoints["web/[0:0::1]:80"]'],
    ],
  );
  assert.deepEqual(servedPorts(config, "web"), ["127.0.0.1:80", "::1:80"], "one of each, the address as written canonically");
  const registered = endpoint("web/127.0.0.1:80", "127.0.0.1", 80);
  assert.throws(
    () => load([registered], [registered]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues[0].location.path === 'endpoints["web/127.0.0.1:80"]' &&
      /^endpoint 127\.0\.0\.1:80 is listed already, at f\.yaml:3:\d+ \(clusters\[0\]\.endpoints\[0\]\); gRPC clients reject a cluster that lists an endpoint twice$/.test(
        e.issues[0].message,
      ),
  );
});

test("a store cluster written with an endpoint registered for it already is refused: a write leaves nothing out", () => {
  const api: OverlayObject = { kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:90"] } };
  const registered = endpoint("api/127.0.0.1:90", "127.0.0.1", 90);
  assert.deepEqual(
    load([api, registered]).shadowed.map((s) => s.name),
    ["api/127.0.0.1:90"],
    "as loaded (a store from before this rule): shadowed",
  );
  assert.throws(
    () => load([api, registered], [api]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues[0].location.path === 'endpoints["api/127.0.0.1:90"]' &&
      /^endpoint 127\.0\.0\.1:90 is listed already, at store \(clusters\.api\.endpoints\[0\]\)/.test(e.issues[0].message),
  );
});

test("a store cluster's own duplicate endpoints are reported with the store path of the first, not a line", () => {
  assert.throws(
    () => load([{ kind: "cluster", name: "api", value: { endpoints: ["[::1]:80", "[0:0:0:0:0:0:0:1]:80"] } }]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues[0].location.path === "clusters.api.endpoints[1]" &&
      e.issues[0].message === "endpoint [::1]:80 is listed twice (also at clusters.api.endpoints[0]); gRPC clients reject the cluster",
  );
});

test("a listener routing by scope defines no RouteConfiguration: a store one named like it is served, not shadowed", () => {
  // What a short-form listener defines is said once (config/model.ts): the validator and the translation gave a
  // scoped listener no route table, while the merge took its name for one and left a store RouteConfiguration
  // of that name out, as if the file defined it.
  const scoped = lines(
    "clusters: [{name: web, endpoints: ['127.0.0.1:80']}]",
    "scopes: [{name: tenant_a, key: a, route_config_name: tenants}]",
    "listeners: [{name: tenants, port: 10001, scope_header: x-tenant}]",
  );
  const routes: OverlayObject = {
    kind: "resource",
    name: `${TypeUrl.RouteConfiguration}/tenants`,
    value: {
      "@type": TypeUrl.RouteConfiguration,
      name: "tenants",
      virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "web" } }] }],
    },
  };
  const config = parseMerged(scoped, "f.yaml", {}, { overlay: [routes], written: new Set([overlayKey(routes.kind, routes.name)]) });
  assert.deepEqual(config.shadowed, []);
  assert.ok(config.defaults.some((r) => r.typeUrl === TypeUrl.RouteConfiguration && r.name === "tenants"));
});
