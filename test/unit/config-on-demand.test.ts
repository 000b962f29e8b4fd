// Clusters and virtual hosts served on demand: what `on_demand: true` translates to, the checks that keep such a
// config servable (each issue with file, line and field), the bootstrap modes that can fetch it, and the mark
// surviving the daemon's worker hand-over and incremental reloads.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { parseConfig, type ConfigResource, type LoadedConfig } from "../../src/config/index.js";
import { renderBootstrap } from "../../src/bootstrap/bootstrap.js";
import { snapshotsOf } from "../../src/config/snapshots.js";
import { snapshotsOfText } from "../../src/merge/merged-load.js";
import { fromTransferable, toTransferable } from "../../src/daemon/transferable-snapshots.js";
import { TranslationCache } from "../../src/config/translation-cache.js";
import { BadArgumentError } from "../../src/errors.js";
import type { Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { OnDemandSchema } from "../../src/gen/envoy/extensions/filters/http/on_demand/v3/on_demand_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { columnOf, issuesOf, lines } from "./config-helpers.js";

/** A listener whose one virtual host v (v.local, to cluster c) is served on demand. */
const onDemandHostListener = [
  "listeners:",
  "  - name: l",
  "    port: 10000",
  "    virtual_hosts:",
  '      - {name: v, domains: ["v.local"], routes: [{prefix: /, cluster: c}], on_demand: true}',
];

function json(r: ConfigResource): unknown {
  const desc = envoyRegistry().getMessage(r.message.$typeName)!;
  return toJson(desc, r.message, { registry: envoyRegistry(), useProtoFieldName: true });
}

const find = (config: LoadedConfig, typeUrl: string, name: string) => config.defaults.find((r) => r.typeUrl === typeUrl && r.name === name);

/** The HTTP filters of a listener's HCM: name and unpacked config (JSON). */
function httpFilters(listener: Listener): [string, unknown][] {
  const filter = listener.filterChains[0].filters[0];
  assert.equal(filter.configType.case, "typedConfig");
  const hcm = anyUnpack(filter.configType.value!, HttpConnectionManagerSchema)!;
  return hcm.httpFilters.map((f) => {
    assert.equal(f.configType.case, "typedConfig");
    const any = f.configType.value!;
    const config = any.typeUrl.endsWith("OnDemand") ? toJson(OnDemandSchema, anyUnpack(any, OnDemandSchema)!) : any.typeUrl;
    return [f.name, config];
  });
}

const onDemandConfig = lines(
  "clusters:",
  '  - {name: eager, endpoints: ["127.0.0.1:81"]}',
  '  - {name: lazy, on_demand: true, endpoints: ["127.0.0.1:82"]}',
  "listeners:",
  "  - name: l",
  "    port: 10000",
  "    route_config_name: rc",
  "    virtual_hosts:",
  '      - {name: inline, domains: ["inline.local"], routes: [{prefix: /, cluster: eager}]}',
  '      - {name: later, on_demand: true, domains: ["later.local", "*.later.local"], routes: [{prefix: /, cluster: lazy}]}',
  "  - name: plain",
  "    port: 10001",
  "    virtual_hosts:",
  '      - {name: all, domains: ["*"], routes: [{prefix: /, cluster: eager}]}',
);

describe("on_demand: translation", () => {
  const config = parseConfig(onDemandConfig, "test.yaml");

  it("marks an on-demand cluster in its metadata, and only that one", () => {
    assert.deepEqual((json(find(config, TypeUrl.Cluster, "lazy")!) as { metadata: unknown }).metadata, { filter_metadata: { xdsd: { on_demand: true } } });
    assert.equal((json(find(config, TypeUrl.Cluster, "eager")!) as { metadata?: unknown }).metadata, undefined);
    const snapshot = snapshotsOf(config).defaults;
    assert.deepEqual(
      [...snapshot.resources(TypeUrl.Cluster).values()].map((r) => [r.name, r.onDemand]),
      [
        ["eager", false],
        ["lazy", true],
      ],
    );
  });

  it("serves an on-demand virtual host as VirtualHost <route config>/<name>, the route configuration getting it over VHDS", () => {
    const rc = find(config, TypeUrl.RouteConfiguration, "rc")!.message as RouteConfiguration;
    assert.deepEqual(
      rc.virtualHosts.map((v) => v.name),
      ["inline"],
      "inline virtual hosts only",
    );
    assert.deepEqual(json(find(config, TypeUrl.RouteConfiguration, "rc")!), {
      name: "rc",
      virtual_hosts: [{ name: "inline", domains: ["inline.local"], routes: [{ match: { prefix: "/" }, route: { cluster: "eager" } }] }],
      vhds: { config_source: { ads: {}, resource_api_version: "V3" } },
    });
    assert.deepEqual(json(find(config, TypeUrl.VirtualHost, "rc/later")!), {
      name: "rc/later",
      domains: ["later.local", "*.later.local"],
      routes: [{ match: { prefix: "/" }, route: { cluster: "lazy" } }],
    });
  });

  it("puts the on_demand filter before the router, with on-demand CDS when routes use an on-demand cluster; other listeners unchanged", () => {
    assert.deepEqual(httpFilters(find(config, TypeUrl.Listener, "l")!.message as Listener), [
      ["envoy.filters.http.on_demand", { odcds: { source: { ads: {}, resourceApiVersion: "V3" } } }],
      ["envoy.filters.http.router", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"],
    ]);
    assert.deepEqual(httpFilters(find(config, TypeUrl.Listener, "plain")!.message as Listener), [
      ["envoy.filters.http.router", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"],
    ]);
    const vhdsOnly = parseConfig(
      lines(
        'clusters: [{name: c, endpoints: ["127.0.0.1:81"]}]',
        'listeners: [{name: l, port: 10000, virtual_hosts: [{name: v, on_demand: true, domains: ["v.local"], routes: [{prefix: /, cluster: c}]}]}]',
      ),
      "test.yaml",
    );
    assert.deepEqual(httpFilters(find(vhdsOnly, TypeUrl.Listener, "l")!.message as Listener)[0], ["envoy.filters.http.on_demand", {}], "VHDS alone: no odcds");
  });

  it("a raw Cluster marked on demand gets a short-form listener routing to it on-demand CDS too", () => {
    const text = lines(
      "resources:",
      '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
      "    name: raw_lazy",
      "    type: STATIC",
      "    metadata: {filter_metadata: {xdsd: {on_demand: true}}}",
      "listeners: [{name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: raw_lazy}]}]}]",
    );
    const config = parseConfig(text, "test.yaml");
    assert.equal(httpFilters(find(config, TypeUrl.Listener, "l")!.message as Listener)[0][0], "envoy.filters.http.on_demand");
    assert.equal(snapshotsOf(config).defaults.resources(TypeUrl.Cluster).get("raw_lazy")!.onDemand, true);
  });

  it("keeps the mark across the config worker's hand-over", () => {
    const { payload } = toTransferable(snapshotsOf(config));
    const back = fromTransferable(structuredClone(payload)).defaults;
    assert.deepEqual(
      [...back.resources(TypeUrl.Cluster).values()].map((r) => [r.name, r.onDemand]),
      [
        ["eager", false],
        ["lazy", true],
      ],
    );
  });

  it("re-translates a listener when a cluster it routes to becomes on demand (incremental reloads)", () => {
    const cache = new TranslationCache();
    const text = (lazy: boolean) => onDemandConfig.replace("{name: lazy, on_demand: true,", `{name: lazy, on_demand: ${lazy},`);
    const listenerOf = (t: string) => snapshotsOfText(t, "test.yaml", {}, cache).defaults.resources(TypeUrl.Listener).get("l")!.message as Listener;
    assert.equal(httpFilters(listenerOf(text(true))).length, 2);
    assert.deepEqual(
      httpFilters(listenerOf(text(false))).map(([name]) => name),
      ["envoy.filters.http.on_demand", "envoy.filters.http.router"],
      "VHDS still needs the filter",
    );
    assert.deepEqual(httpFilters(listenerOf(text(false)))[0][1], {}, "but no odcds any more");
    assert.ok((httpFilters(listenerOf(text(true)))[0][1] as { odcds?: unknown }).odcds, "and back");
  });
});

/** Exactly one issue at `token` on `line`, for field `path`. */
function expectIssue(text: string, line: number, token: string, path: string, message: RegExp): void {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, `expected one issue, got:\n${issues.map((i) => JSON.stringify(i)).join("\n")}`);
  assert.deepEqual(issues[0].location, { file: "test.yaml", line, column: columnOf(text, line, token), path });
  assert.match(issues[0].message, message);
}

describe("on_demand: checks", () => {
  it("needs ADS: an on-demand cluster or virtual host in a group with another config_source is an error where it says on_demand", () => {
    expectIssue(
      lines("config_source: delta-grpc", "clusters:", "  - {name: c, endpoints: [], on_demand: true}"),
      3,
      "true",
      "clusters[0].on_demand",
      /a cluster on demand \(on-demand CDS\) is fetched over incremental ADS only, but this group's config_source is delta-grpc; use config_source: ads with xdsd bootstrap --mode delta-ads/,
    );
    expectIssue(
      lines("config_source: grpc", "clusters: [{name: c, endpoints: []}]", ...onDemandHostListener),
      7,
      "true",
      "listeners[0].virtual_hosts[0].on_demand",
      /a virtual host on demand \(VHDS\) is fetched over incremental ADS only, but this group's config_source is grpc/,
    );
  });

  it("refuses on-demand virtual hosts on a grpc listener, and names with a slash", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        "  - name: echo.test",
        "    grpc: true",
        "    virtual_hosts:",
        '      - {name: v, domains: ["*"], routes: [{prefix: "", cluster: c}], on_demand: true}',
      ),
      6,
      "true",
      "listeners[0].virtual_hosts[0].on_demand",
      /gRPC clients do not fetch virtual hosts on demand/,
    );
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        "  - name: l",
        "    port: 10000",
        "    virtual_hosts:",
        '      - {name: a/b, domains: ["v.local"], routes: [{prefix: /, cluster: c}], on_demand: true}',
      ),
      6,
      "a/b",
      "listeners[0].virtual_hosts[0].name",
      /may not contain "\/": it is served as "l\/a\/b"/,
    );
  });

  it("a raw VirtualHost must be named <route configuration with vhds>/<host>", () => {
    const raw = (name: string, ...rc: string[]) =>
      lines(
        "resources:",
        ...(rc.length > 0 ? ['  - "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration', ...rc.map((l) => `    ${l}`)] : []),
        '  - "@type": type.googleapis.com/envoy.config.route.v3.VirtualHost',
        `    name: ${name}`,
        '    domains: ["x.local"]',
      );
    expectIssue(
      raw("x.local"),
      3,
      "x.local",
      "resources[0].name",
      /VirtualHost "x.local" is never fetched: Envoy asks for virtual hosts \(VHDS\) by "<route configuration name>\/<host>"/,
    );
    expectIssue(raw("rc/x.local"), 3, "rc/x.local", "resources[0].name", /for route configuration "rc", but no RouteConfiguration of that name is defined/);
    expectIssue(raw("rc/x.local", "name: rc"), 5, "rc/x.local", "resources[1].name", /for route configuration "rc", but that RouteConfiguration has no vhds/);
    assert.doesNotThrow(() => parseConfig(raw("rc/x.local", "name: rc", "vhds: {config_source: {ads: {}}}"), "test.yaml"));
  });

  it("a raw VirtualHost may not take the name of a short-form one", () => {
    const text = lines(
      "clusters: [{name: c, endpoints: []}]",
      ...onDemandHostListener,
      "resources:",
      '  - "@type": type.googleapis.com/envoy.config.route.v3.VirtualHost',
      "    name: l/v",
      '    domains: ["x.local"]',
    );
    expectIssue(text, 9, "l/v", "resources[0].name", /duplicate VirtualHost name "l\/v": already defined by listeners\[0\]\.virtual_hosts\[0\], line 6/);
  });
});

describe("on_demand: bootstraps", () => {
  const config = parseConfig(onDemandConfig, "test.yaml");
  const base = { config, nodeId: "n", nodeCluster: "c", xds: { host: "127.0.0.1", port: 18000 } };

  it("refuses every mode but delta-ads for a config with anything on demand", () => {
    assert.throws(
      () => renderBootstrap({ ...base, mode: "ads" }),
      (e: unknown) =>
        e instanceof BadArgumentError &&
        /--mode ads: the config serves cluster "lazy" on demand, which Envoy fetches over incremental ADS only; use --mode delta-ads/.test(e.message),
    );
    const vhdsOnly = parseConfig(
      lines(
        "listeners: [{name: l, port: 1, virtual_hosts: [{name: v, on_demand: true, domains: [x], routes: [{prefix: /, cluster: c}]}]}]",
        "clusters: [{name: c, endpoints: []}]",
      ),
      "t.yaml",
    );
    assert.throws(() => renderBootstrap({ ...base, config: vhdsOnly, mode: "eds" }), /route configuration "l" with virtual hosts on demand \(vhds\)/);
    assert.match(renderBootstrap({ ...base, mode: "delta-ads" }), /api_type: DELTA_GRPC/);
  });
});
