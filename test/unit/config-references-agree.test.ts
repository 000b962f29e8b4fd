// The config validator and the snapshot's consistency check follow one rule for what xdsd must provide
// (resource/config-source.ts): a dependency Envoy reads from its own disk is not asked of xdsd. Before, a raw EDS
// cluster whose endpoints come from a file passed the validator and then failed the snapshot check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { parseConfig } from "../../src/config/index.js";
import { snapshotsOf } from "../../src/config/snapshots.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { lines } from "./config-helpers.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSource } from "../../src/config/source.js";
import { GroupChecker, isObj, asArray } from "../../src/config/validate.js";
import { decodeRawResource, type RawResource } from "../../src/config/raw-resources.js";
import { resourceType } from "../../src/resource/types.js";
import { TestCa } from "../support/certs.js";
import { definedByEntry } from "../../src/config/short-form-names.js";

test("a raw EDS cluster whose endpoints come from a path passes validation and the snapshot check", () => {
  const text = lines(
    "resources:",
    '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
    "    name: from_disk",
    "    type: EDS",
    "    connect_timeout: 1s",
    "    eds_cluster_config: {eds_config: {path_config_source: {path: /etc/envoy/eds.yaml}}}",
  );
  const snapshots = snapshotsOf(parseConfig(text, "test.yaml"));
  assert.deepEqual([...snapshots.defaults.resources(TypeUrl.Cluster).keys()], ["from_disk"]);
  assert.equal(snapshots.defaults.resources(TypeUrl.ClusterLoadAssignment).size, 0);
  assert.deepEqual(snapshots.defaults.missingReferences(), []);
});

test("a raw listener whose routes come from a path passes validation and the snapshot check", () => {
  const text = lines(
    "resources:",
    '  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener',
    "    name: l",
    "    address: {socket_address: {address: 0.0.0.0, port_value: 10000}}",
    "    filter_chains:",
    "      - filters:",
    "          - name: envoy.filters.network.http_connection_manager",
    "            typed_config:",
    '              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    "              stat_prefix: s",
    "              rds: {route_config_name: from_disk, config_source: {path_config_source: {path: /etc/envoy/rds.yaml}}}",
    '              http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]',
  );
  const snapshots = snapshotsOf(parseConfig(text, "test.yaml"));
  assert.deepEqual(snapshots.defaults.missingReferences(), []);
});

// Both read references from the registry (resource/types.ts referencesOf); before, the validator had its own list
// of referring types and did not know that a ScopedRouteConfiguration names a RouteConfiguration.
test("a raw ScopedRouteConfiguration naming a missing RouteConfiguration is refused where it names it", () => {
  const text = lines(
    "resources:",
    '  - "@type": type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration',
    "    name: scope",
    "    route_configuration_name: nowhere",
    "    key: {fragments: [{string_key: a}]}",
  );
  assert.throws(
    () => parseConfig(text, "test.yaml"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.length === 1 &&
      e.issues[0].location.line === 4 &&
      e.issues[0].location.path === "resources[0].route_configuration_name" &&
      /ScopedRouteConfiguration "scope" gets RouteConfiguration "nowhere" over RDS, but no RouteConfiguration "nowhere" is defined/.test(e.issues[0].message),
  );
});

/** A raw listener whose HTTP connection manager has `hcmTail` (YAML at its indentation) after its stat_prefix. */
function rawListener(...hcmTail: string[]): string {
  return lines(
    "resources:",
    '  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener',
    "    name: l",
    "    address: {socket_address: {address: 0.0.0.0, port_value: 10000}}",
    "    filter_chains:",
    "      - filters:",
    "          - name: envoy.filters.network.http_connection_manager",
    "            typed_config:",
    '              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    "              stat_prefix: s",
    ...hcmTail.map((l) => `              ${l}`),
  );
}

const router = '{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}';

// Issue 21 item 4: Envoy fetches a filter's config_discovery by the filter's name and holds the listener warming
// until it comes; before, neither check knew of the reference, and such a listener was served.
test("a raw listener's filter fetching a missing TypedExtensionConfig over ECDS is refused by both checks, at the filter's name", () => {
  const text = rawListener(
    "rds: {route_config_name: r, config_source: {ads: {}}}",
    "http_filters:",
    "  - name: rl",
    "    config_discovery: {config_source: {ads: {}}, type_urls: [type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit]}",
    `  - ${router}`,
  );
  const withRoutes = `${text}${lines('  - {"@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration, name: r}')}`;
  assert.throws(
    () => parseConfig(withRoutes, "test.yaml"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.length === 1 &&
      e.issues[0].location.line === 13 &&
      e.issues[0].location.path === "resources[0].filter_chains[0].filters[0].typed_config.http_filters[0].name" &&
      /Listener "l" gets TypedExtensionConfig "rl" over ECDS, but no TypedExtensionConfig "rl" is defined/.test(e.issues[0].message),
  );
  const withConfig = `${withRoutes}${lines(
    '  - {"@type": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig, name: rl, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefix: rl}}',
  )}`;
  const snapshots = snapshotsOf(parseConfig(withConfig, "test.yaml"));
  assert.deepEqual(snapshots.defaults.missingReferences(), []);
  const listener = snapshots.defaults.resources(TypeUrl.Listener).get("l")!;
  assert.deepEqual(
    Snapshot.from([listener])
      .missingReferences()
      .map((m) => [m.toType, m.to]),
    [
      [TypeUrl.RouteConfiguration, "r"],
      [TypeUrl.ExtensionConfig, "rl"],
    ],
    "the snapshot check finds the same reference",
  );
});

test("a raw listener's inline scopes name their route tables: a missing one is refused where it is named", () => {
  const text = rawListener(
    "scoped_routes:",
    "  name: s",
    "  scope_key_builder: {fragments: [{header_value_extractor: {name: x-tenant, index: 0}}]}",
    "  rds_config_source: {ads: {}}",
    "  scoped_route_configurations_list:",
    "    scoped_route_configurations: [{name: a, route_configuration_name: ra, key: {fragments: [{string_key: a}]}}]",
    `http_filters: [${router}]`,
  );
  assert.throws(
    () => parseConfig(text, "test.yaml"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.length === 1 &&
      e.issues[0].location.path ===
        "resources[0].filter_chains[0].filters[0].typed_config.scoped_routes.scoped_route_configurations_list.scoped_route_configurations[0].route_configuration_name" &&
      /gets RouteConfiguration "ra" over RDS, but no RouteConfiguration "ra" is defined/.test(e.issues[0].message),
  );
});

// One set of reference rules: what the validator expects a client to fetch because another resource names it must
// be exactly what the registry's referencesOf (the snapshot's consistency check) finds in the translated resources
// — for every short-form entry that names something, and for raw resources. A short-form field the validator did
// not know to check, or a translation that began naming something new, fails here.
test("the validator's references of a config are the registry's references of its translated resources", () => {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-references-"));
  try {
    const ca = new TestCa("references", dir);
    const server = ca.issue("localhost", { san: ["DNS:localhost"] });
    const rateLimit = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
    const text = lines(
      "secrets:",
      `  - {name: cert, cert_file: ${server.cert}, key_file: ${server.key}}`,
      `  - {name: ca, ca_file: ${ca.cert}}`,
      "clusters:",
      '  - {name: app, endpoints: ["127.0.0.1:8080"]}',
      "  - {name: tls_upstream, endpoints: [], tls: {sni: backend.test, validation_context: ca}}",
      "extension_configs:",
      `  - {name: rl, config: {"@type": ${rateLimit}, stat_prefix: rl, token_bucket: {max_tokens: 5, fill_interval: 1s}}}`,
      "listeners:",
      "  - name: https",
      "    port: 10443",
      "    route_config_name: shared_routes",
      "    tls: {certificate: cert, validation_context: ca, require_client_certificate: true}",
      "    http_filters: [{extension_config: rl}]",
      "    virtual_hosts:",
      '      - {name: all, domains: ["*"], routes: [{prefix: /a, cluster: app}, {prefix: /, weighted_clusters: [{name: app, weight: 1}, {name: tls_upstream, weight: 1}]}]}',
      '      - {name: late, domains: ["late.test"], on_demand: true, routes: [{prefix: /, cluster: tls_upstream}]}',
      '  - {name: "echo:1", grpc: true, virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "", cluster: app}]}]}',
      "  - {name: tenants, port: 10001, scope_header: x-tenant}",
      "scopes:",
      '  - {name: tenant_a, key: a, virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: /, cluster: app}]}]}',
      "  - {name: tenant_b, key: b, route_config_name: shared_routes}",
      "grpc_servers:",
      "  - {address: 127.0.0.1, port: 50051}",
      '  - {address: "::", port: 50052, route_config_name: v6_routes}',
      "runtime: {health_check: {min_interval: 5}}",
      "resources:",
      `  - {"@type": ${TypeUrl.Cluster}, name: raw_eds, type: EDS, connect_timeout: 1s, eds_cluster_config: {eds_config: {ads: {}}}}`,
      `  - {"@type": ${TypeUrl.ClusterLoadAssignment}, cluster_name: raw_eds}`,
      `  - {"@type": ${TypeUrl.ScopedRouteConfiguration}, name: tenant_c, route_configuration_name: raw_routes, key: {fragments: [{string_key: c}]}}`,
      `  - {"@type": ${TypeUrl.RouteConfiguration}, name: raw_routes, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: raw_eds}}]}]}`,
    );
    const file = join(dir, "xdsd.yaml");

    // The validator's view, as load.ts runs it on the top-level group.
    const source = new ConfigSource(text, file);
    assert.ok(isObj(source.value));
    const raw = asArray(source.value.resources).map((r, i) => decodeRawResource(source, r as Record<string, unknown>, ["resources", i]) as RawResource);
    const checker = new GroupChecker(source, [], () => false);
    assert.deepEqual(checker.check(source.value, raw), []);
    const checked = checker.references.map((r) => `${r.fromType} ${r.from} -> ${r.typeUrl} ${r.name}`);

    // The registry's view, of what the config translates to.
    const translated = parseConfig(text, file).defaults;
    const registered = translated.flatMap((r) =>
      resourceType(r.typeUrl)
        .referencesOf(r.message)
        .map((ref) => `${r.typeUrl} ${r.name} -> ${ref.typeUrl} ${ref.name}`),
    );
    assert.deepEqual([...new Set(checked)].sort(), [...new Set(registered)].sort());
    // Not vacuous: every kind of reference a config can make is in it.
    assert.deepEqual(
      [...new Set(checker.references.map((r) => r.typeUrl))].sort(),
      [TypeUrl.ClusterLoadAssignment, TypeUrl.ExtensionConfig, TypeUrl.RouteConfiguration, TypeUrl.Secret].sort(),
    );
    assert.ok(checked.length >= 10, checked.join("\n"));

    // The clusters routes send traffic to: the same set.
    const used = translated.flatMap((r) => (resourceType(r.typeUrl).clustersUsedBy?.(r.message) ?? []).map((c) => c.name));
    assert.deepEqual([...new Set(checker.clustersUsed.map((c) => c.name))].sort(), [...new Set(used)].sort());
    assert.deepEqual([...new Set(used)].sort(), ["app", "raw_eds", "tls_upstream"]);

    // What each short-form entry defines (short-form-names.ts, which the validator and the store overlay read) is
    // what its translation produces; besides, the runtime, the on-demand virtual hosts and the raw resources.
    const doc = source.value;
    const defined = (Object.keys(definedByEntry) as (keyof typeof definedByEntry)[]).flatMap((list) =>
      asArray(doc[list]).flatMap((e) => definedByEntry[list](e as Record<string, unknown>).map((d) => `${d.typeUrl} ${d.name}`)),
    );
    const others = [`${TypeUrl.Runtime} xdsd`, `${TypeUrl.VirtualHost} shared_routes/late`, ...raw.map((r) => `${r.typeUrl} ${r.name}`)];
    assert.deepEqual([...defined, ...others].sort(), translated.map((r) => `${r.typeUrl} ${r.name}`).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
