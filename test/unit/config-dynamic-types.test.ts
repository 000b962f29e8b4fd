// The short form of the types a running Envoy takes live (issue 21 item 4): `runtime:` (RTDS), `extension_configs:`
// with a listener's `http_filters` (ECDS), `scopes:` with a listener's `scope_header` (SRDS). What each translates
// to, what the bootstrap adds for it, and each mistake refused where it is written. test/e2e/{runtime-rtds,
// extension-config-ecds,scoped-routes-srds}.test.ts show each with a real Envoy.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { parse } from "yaml";
import { renderBootstrap } from "../../src/bootstrap/bootstrap.js";
import { parseConfig, type ConfigResource, type LoadedConfig } from "../../src/config/index.js";
import { TranslationCache } from "../../src/config/translation-cache.js";
import { BadArgumentError } from "../../src/errors.js";
import type { Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { assertOneIssue, columnOf, lines } from "./config-helpers.js";

const fault = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
const rateLimit = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

function json(r: ConfigResource | undefined): unknown {
  assert.ok(r, "no such resource");
  const desc = envoyRegistry().getMessage(r.message.$typeName)!;
  return toJson(desc, r.message, { registry: envoyRegistry(), useProtoFieldName: true });
}

const find = (config: LoadedConfig, typeUrl: string, name: string) => config.defaults.find((r) => r.typeUrl === typeUrl && r.name === name);
const names = (config: LoadedConfig, typeUrl: string) => config.defaults.filter((r) => r.typeUrl === typeUrl).map((r) => r.name);

/** The HCM of a short-form listener, as JSON. */
function hcmOf(config: LoadedConfig, listener: string): Record<string, unknown> {
  const l = find(config, TypeUrl.Listener, listener)!.message as Listener;
  const filter = l.filterChains[0].filters[0];
  assert.equal(filter.configType.case, "typedConfig");
  const hcm = anyUnpack(filter.configType.value!, HttpConnectionManagerSchema)!;
  return toJson(HttpConnectionManagerSchema, hcm, { registry: envoyRegistry(), useProtoFieldName: true }) as Record<string, unknown>;
}

const cluster = '  - {name: app, endpoints: ["127.0.0.1:8080"]}';
const toApp = 'virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: /, cluster: app}]}]';

describe("runtime (RTDS)", () => {
  const text = lines(
    "clusters:",
    cluster,
    "runtime:",
    "  fault.http.abort.abort_percent: 0",
    "  feature: {enabled: true, name: blue, share: {numerator: 5, denominator: HUNDRED}}",
  );

  it("is one Runtime resource, xdsd, whose layer is the keys as written (a mapping is keys below its key)", () => {
    const config = parseConfig(text, "test.yaml");
    assert.deepEqual(json(find(config, TypeUrl.Runtime, "xdsd")), {
      name: "xdsd",
      layer: { "fault.http.abort.abort_percent": 0, feature: { enabled: true, name: "blue", share: { numerator: 5, denominator: "HUNDRED" } } },
    });
  });

  const bootstrap = (config: LoadedConfig, mode: "ads" | "xds" | "eds" = "ads") =>
    parse(renderBootstrap({ config, nodeId: "n", nodeCluster: "c", xds: { host: "127.0.0.1", port: 18000 }, mode })) as Record<string, JsonValue>;

  it("gives the node's bootstrap an RTDS layer between Envoy's default layers, fetched as the group fetches", () => {
    assert.deepEqual(bootstrap(parseConfig(text, "test.yaml")).layered_runtime, {
      layers: [
        { name: "base", static_layer: {} },
        { name: "xdsd", rtds_layer: { name: "xdsd", rtds_config: { ads: {}, resource_api_version: "V3" } } },
        { name: "admin", admin_layer: {} },
      ],
    });
    const perType = bootstrap(parseConfig(`config_source: grpc\n${text}`, "test.yaml"), "xds").layered_runtime as { layers: { rtds_layer?: unknown }[] };
    assert.deepEqual(perType.layers[1].rtds_layer, {
      name: "xdsd",
      rtds_config: {
        api_config_source: {
          api_type: "GRPC",
          transport_api_version: "V3",
          grpc_services: [{ envoy_grpc: { cluster_name: "xds_cluster", retry_policy: { retry_back_off: { base_interval: "0.100s", max_interval: "1s" } } } }],
        },
        resource_api_version: "V3",
      },
    });
  });

  it("leaves Envoy's default runtime to a config without Runtime resources (Envoy waits for an RTDS layer before it starts)", () => {
    assert.equal(bootstrap(parseConfig(lines("clusters:", cluster), "test.yaml")).layered_runtime, undefined);
  });

  it("gives raw Runtime resources a layer each too, and refuses one named like Envoy's own layers", () => {
    const raw = (name: string) => lines("resources:", `  - {"@type": ${TypeUrl.Runtime}, name: ${name}, layer: {a: 1}}`);
    const layers = (bootstrap(parseConfig(`${text}${raw("extra")}`, "test.yaml")).layered_runtime as { layers: { name: string }[] }).layers;
    assert.deepEqual(
      layers.map((l) => l.name),
      ["base", "xdsd", "extra", "admin"],
    );
    assert.throws(
      () => bootstrap(parseConfig(raw("admin"), "test.yaml")),
      (e) => e instanceof BadArgumentError && /Runtime named "admin".*rename it/.test(e.message),
    );
  });

  it("refuses a list or null as a value (Envoy's runtime refuses them), and numbers Envoy cannot hold, each where it is", () => {
    const bad = lines("runtime:", "  ok: 1", "  group: {ids: [1, 2]}");
    assertOneIssue(
      bad,
      3,
      columnOf(bad, 3, "[1"),
      "runtime.group.ids",
      /must be a number, a string, true or false, or a mapping of more keys: Envoy's runtime refuses lists and null/,
    );
    const nan = lines("runtime:", "  share: .nan");
    assertOneIssue(nan, 2, columnOf(nan, 2, ".nan"), "runtime.share", /NaN is not a number Envoy's runtime can hold/);
  });

  it("refuses a raw Runtime named xdsd beside runtime:", () => {
    const clash = lines("runtime: {a: 1}", "resources:", `  - {"@type": ${TypeUrl.Runtime}, name: xdsd, layer: {}}`);
    assertOneIssue(clash, 3, columnOf(clash, 3, "xdsd"), "resources[0].name", /duplicate Runtime name "xdsd": already defined by runtime, line 1/);
  });
});

describe("extension configs (ECDS) and listeners' HTTP filters", () => {
  const text = lines(
    "clusters:",
    cluster,
    "extension_configs:",
    "  - name: ratelimit",
    `    config: {"@type": ${rateLimit}, stat_prefix: rl, token_bucket: {max_tokens: 5, fill_interval: 1s}}`,
    "listeners:",
    "  - name: web",
    "    port: 10000",
    "    http_filters:",
    `      - {name: envoy.filters.http.fault, config: {"@type": ${fault}, abort: {http_status: 418, percentage: {numerator: 0}}}}`,
    "      - {extension_config: ratelimit}",
    `    ${toApp}`,
  );

  it("an extension config is a TypedExtensionConfig of that name", () => {
    assert.deepEqual(json(find(parseConfig(text, "test.yaml"), TypeUrl.ExtensionConfig, "ratelimit")), {
      name: "ratelimit",
      typed_config: { "@type": rateLimit, stat_prefix: "rl", token_bucket: { max_tokens: 5, fill_interval: "1s" } },
    });
  });

  it("a listener's filters go before the router, in order: inline, and over ECDS accepting its extension config's type", () => {
    const filters = hcmOf(parseConfig(text, "test.yaml"), "web").http_filters;
    assert.deepEqual(filters, [
      { name: "envoy.filters.http.fault", typed_config: { "@type": fault, abort: { http_status: 418, percentage: {} } } },
      { name: "ratelimit", config_discovery: { config_source: { ads: {}, resource_api_version: "V3" }, type_urls: [rateLimit] } },
      { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
    ]);
  });

  it("a filter fetches a raw TypedExtensionConfig as well, over the group's config source", () => {
    const raw = lines(
      "config_source: delta-grpc",
      "clusters:",
      cluster,
      "resources:",
      `  - {"@type": ${TypeUrl.ExtensionConfig}, name: rl, typed_config: {"@type": ${rateLimit}, stat_prefix: rl}}`,
      "listeners:",
      `  - {name: web, port: 10000, http_filters: [{extension_config: rl}], ${toApp}}`,
    );
    const [filter] = hcmOf(parseConfig(raw, "test.yaml"), "web").http_filters as {
      config_discovery: { config_source: { api_config_source: { api_type: string } }; type_urls: string[] };
    }[];
    assert.equal(filter.config_discovery.config_source.api_config_source.api_type, "DELTA_GRPC");
    assert.deepEqual(filter.config_discovery.type_urls, [rateLimit]);
  });

  it("a reload where only the extension config's type changed gives the listener the new type (incremental reloads)", () => {
    const cache = new TranslationCache();
    const typeUrls = (config: LoadedConfig) =>
      (hcmOf(config, "web").http_filters as { config_discovery?: { type_urls: string[] } }[])[1].config_discovery?.type_urls;
    assert.deepEqual(typeUrls(parseConfig(text, "test.yaml", {}, { cache })), [rateLimit]);
    cache.commit();
    const other = text.replace(`"@type": ${rateLimit}, stat_prefix: rl, token_bucket: {max_tokens: 5, fill_interval: 1s}`, `"@type": ${fault}`);
    const second = parseConfig(other, "test.yaml", {}, { cache });
    assert.equal(second.positioned, false, "read by the fast reader, translated with the cache");
    assert.deepEqual(typeUrls(second), [fault]);
  });

  it("refuses a filter fetching an extension config the group does not define, at its extension_config", () => {
    const bad = text.replace("{extension_config: ratelimit}", "{extension_config: ratelimt}");
    assertOneIssue(
      bad,
      11,
      columnOf(bad, 11, "ratelimt"),
      "listeners[0].http_filters[1].extension_config",
      /Listener "web" gets TypedExtensionConfig "ratelimt" over ECDS, but no TypedExtensionConfig "ratelimt" is defined \(define it under extension_configs, or as a TypedExtensionConfig in resources\)/,
    );
  });

  it("refuses a config that does not decode as Envoy decodes it, at the field", () => {
    const bad = text.replace("stat_prefix: rl,", "stat_prefix: rl, max_tokens: 5,");
    assertOneIssue(bad, 5, columnOf(bad, 5, "max_tokens: 5,"), "extension_configs[0].config.max_tokens", /key "max_tokens" is unknown/);
    const inline = text.replace("http_status: 418", "http_status: teapot");
    assertOneIssue(
      inline,
      10,
      columnOf(inline, 10, "teapot"),
      "listeners[0].http_filters[0].config.abort.http_status",
      /expected number \(uint32\), got "teapot"/,
    );
  });

  it('refuses an "@type" that names no Envoy message, with the closest name', () => {
    const bad = text.replace(rateLimit, rateLimit.replace("RateLimit", "Ratelimit"));
    assertOneIssue(
      bad,
      5,
      columnOf(bad, 5, "type.goo"),
      'extension_configs[0].config["@type"]',
      new RegExp(`names no Envoy message \\(did you mean "${rateLimit}"\\?\\)`),
    );
  });

  it("refuses a filter that is both or neither, a router of one's own, and ECDS for gRPC clients", () => {
    const both = text.replace("{extension_config: ratelimit}", `{extension_config: ratelimit, config: {"@type": ${fault}}}`);
    assertOneIssue(
      both,
      11,
      columnOf(both, 11, `{"@type": ${fault}}`),
      "listeners[0].http_filters[1].config",
      /a filter with extension_config gets its config over ECDS: remove config, or extension_config/,
    );
    const neither = text.replace("{extension_config: ratelimit}", "{name: x}");
    assertOneIssue(neither, 11, columnOf(neither, 11, "{name"), "listeners[0].http_filters[1]", /missing required key "config"/);
    const router = text
      .replace(fault, "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router")
      .replace(", abort: {http_status: 418, percentage: {numerator: 0}}", "");
    assertOneIssue(
      router,
      10,
      columnOf(router, 10, "type.goo"),
      'listeners[0].http_filters[0].config["@type"]',
      /every listener ends with the router filter, which xdsd adds; remove this one/,
    );
    const grpc = lines(
      "clusters:",
      cluster,
      "extension_configs:",
      `  - {name: rl, config: {"@type": ${rateLimit}, stat_prefix: rl}}`,
      "listeners:",
      `  - {name: "echo:1", grpc: true, http_filters: [{extension_config: rl}], ${toApp}}`,
    );
    assertOneIssue(grpc, 6, columnOf(grpc, 6, "rl}]"), "listeners[0].http_filters[0].extension_config", /gRPC clients do not fetch filter configs over ECDS/);
  });
});

describe("scopes (SRDS) and listeners routing by scope", () => {
  const text = lines(
    "clusters:",
    cluster,
    "scopes:",
    `  - {name: tenant_a, key: a, ${toApp}}`,
    "  - {name: tenant_b, key: b, route_config_name: web}",
    "listeners:",
    `  - {name: web, port: 10000, ${toApp}}`,
    "  - {name: tenants, port: 10001, scope_header: x-tenant}",
  );

  it("a scope is a ScopedRouteConfiguration keyed by its key, naming its own route table or another", () => {
    const config = parseConfig(text, "test.yaml");
    assert.deepEqual(json(find(config, TypeUrl.ScopedRouteConfiguration, "tenant_a")), {
      name: "tenant_a",
      route_configuration_name: "tenant_a",
      key: { fragments: [{ string_key: "a" }] },
    });
    assert.equal((json(find(config, TypeUrl.ScopedRouteConfiguration, "tenant_b")) as { route_configuration_name: string }).route_configuration_name, "web");
    assert.deepEqual(names(config, TypeUrl.RouteConfiguration).sort(), ["tenant_a", "web"], "tenant_a's own table; the scoped listener has none");
  });

  it("a listener with scope_header routes by that header's whole value, scopes over SRDS and their tables over RDS", () => {
    assert.deepEqual(hcmOf(parseConfig(text, "test.yaml"), "tenants").scoped_routes, {
      name: "tenants",
      scope_key_builder: { fragments: [{ header_value_extractor: { name: "x-tenant", index: 0 } }] },
      rds_config_source: { ads: {}, resource_api_version: "V3" },
      scoped_rds: { scoped_rds_config_source: { ads: {}, resource_api_version: "V3" } },
    });
  });

  it("refuses two scopes with one key (Envoy refuses the whole update), raw ones included, at the second key", () => {
    const bad = `${text}${lines("resources:", `  - {"@type": ${TypeUrl.ScopedRouteConfiguration}, name: raw, route_configuration_name: web, key: {fragments: [{string_key: a}]}}`)}`;
    assertOneIssue(
      bad,
      10,
      columnOf(bad, 10, "{fragments"),
      "resources[0].key",
      /scope key "a" is already the key of scopes\[0\]\.key, line 4; Envoy refuses two scopes with one key/,
    );
  });

  it("refuses a scope naming a route table nobody defines, and one with both or neither", () => {
    const missing = text.replace("route_config_name: web", "route_config_name: webb");
    assertOneIssue(
      missing,
      5,
      columnOf(missing, 5, "webb"),
      "scopes[1].route_config_name",
      /scope "tenant_b" gets RouteConfiguration "webb" over RDS, but no RouteConfiguration "webb" is defined/,
    );
    const neither = text.replace(", route_config_name: web", "");
    assertOneIssue(
      neither,
      5,
      columnOf(neither, 5, "{name: tenant_b"),
      "scopes[1]",
      /a scope needs exactly one of virtual_hosts \(its own route table\), route_config_name \(an existing one\)/,
    );
  });

  it("checks a scope's route table as a listener's: clusters, and no virtual host on demand", () => {
    const bad = text.replace(
      `  - {name: tenant_a, key: a, ${toApp}}`,
      '  - {name: tenant_a, key: a, virtual_hosts: [{name: all, domains: ["*"], on_demand: true, routes: [{prefix: /, cluster: nope}]}]}',
    );
    const issues = (() => {
      try {
        parseConfig(bad, "test.yaml");
      } catch (e) {
        return (e as { issues: { location: { path?: string }; message: string }[] }).issues.map((i) => `${i.location.path}: ${i.message}`);
      }
      return [];
    })();
    assert.deepEqual(issues, [
      "scopes[0].virtual_hosts[0].on_demand: a scope's virtual hosts are sent with its route table; on_demand (VHDS) is for a listener's virtual hosts",
      'scopes[0].virtual_hosts[0].routes[0].cluster: route to undefined cluster "nope" (define it under clusters, or as a Cluster in resources)',
    ]);
  });

  it("refuses a listener with neither virtual_hosts nor scope_header, or a scoped one with a route_config_name", () => {
    const neither = text.replace(", scope_header: x-tenant", "");
    assertOneIssue(
      neither,
      8,
      columnOf(neither, 8, "{name: tenants"),
      "listeners[1]",
      /a listener needs exactly one of virtual_hosts \(its own routes\), scope_header \(routes chosen by scope, from scopes\)/,
    );
    const named = text.replace("scope_header: x-tenant", "scope_header: x-tenant, route_config_name: r");
    assertOneIssue(named, 8, columnOf(named, 8, "r}"), "listeners[1].route_config_name", /a listener with scope_header has no route configuration of its own/);
  });
});
