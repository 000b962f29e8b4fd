// Envoy bootstraps for both modes: valid Bootstrap messages (and, when an Envoy binary is at hand, valid for Envoy).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { parse } from "yaml";
import { loadConfigFile, parseConfig, type LoadedConfig } from "../../src/config/index.js";
import { bootstrapModes, renderBootstrap, type BootstrapMode, type BootstrapTls, type XdsServerAddress } from "../../src/bootstrap/bootstrap.js";
import { BadArgumentError } from "../../src/errors.js";
import { BootstrapSchema, type Bootstrap } from "../../src/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { Cluster_DiscoveryType } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import type { Address } from "../../src/gen/envoy/config/core/v3/address_pb.js";
import { ApiConfigSource_ApiType, ApiVersion, type ConfigSource } from "../../src/gen/envoy/config/core/v3/config_source_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpProtocolOptionsSchema } from "../../src/gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
import { TestCa } from "../support/certs.js";
import { findEnvoyBinary } from "../support/envoy.js";
import { lines, repoFile } from "./config-helpers.js";

const seed = loadConfigFile(repoFile("examples/seed.yaml"));
/** The seed as a node of each mode needs it: config_source grpc / delta-grpc for the per-type stream modes. */
function seedFor(mode: BootstrapMode): LoadedConfig {
  const source = ({ xds: "grpc", delta: "delta-grpc", rest: "rest" } as Partial<Record<BootstrapMode, string>>)[mode];
  if (!source) return seed;
  return parseConfig(`config_source: ${source}\n${readFileSync(repoFile("examples/seed.yaml"), "utf8")}`, "seed.yaml");
}

function render(
  config: LoadedConfig,
  mode: BootstrapMode,
  extra: { listenPort?: number; adminPort?: number; nodeCluster?: string; nodeId?: string; xds?: XdsServerAddress[]; tls?: BootstrapTls } = {},
) {
  const yaml = renderBootstrap({
    config,
    nodeId: extra.nodeId ?? "envoy-1",
    nodeCluster: extra.nodeCluster ?? "demo",
    xds: extra.xds ?? { host: "127.0.0.1", port: 18000 },
    mode,
    listenPort: extra.listenPort,
    adminPort: extra.adminPort,
    tls: extra.tls,
  });
  const bootstrap = fromJson(BootstrapSchema, parse(yaml) as JsonValue, { registry: envoyRegistry() });
  return { yaml, bootstrap };
}

function socket(address: Address | undefined): { address: string; port: number } {
  assert.equal(address?.address.case, "socketAddress");
  const value = address.address.value;
  return { address: value.address, port: value.portSpecifier.case === "portValue" ? value.portSpecifier.value : -1 };
}

function checkCommon(bootstrap: Bootstrap, adminPort = 9901) {
  assert.equal(bootstrap.node?.id, "envoy-1");
  assert.equal(bootstrap.node?.cluster, "demo");
  assert.deepEqual(socket(bootstrap.admin?.address), { address: "127.0.0.1", port: adminPort });
  const xds = bootstrap.staticResources?.clusters.find((c) => c.name === "xds_cluster");
  assert.ok(xds);
  assert.deepEqual(xds.clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.STATIC });
  assert.deepEqual([xds.connectTimeout?.seconds, xds.connectTimeout?.nanos], [0n, 250_000_000], "a dead replica costs a quarter second");
  const endpoint = xds.loadAssignment?.endpoints[0].lbEndpoints[0].hostIdentifier;
  assert.equal(endpoint?.case, "endpoint");
  assert.deepEqual(socket(endpoint?.value.address), { address: "127.0.0.1", port: 18000 });
  const options = anyUnpack(xds.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"], HttpProtocolOptionsSchema);
  assert.equal(options?.upstreamProtocolOptions.case, "explicitHttpConfig");
  assert.equal(options?.upstreamProtocolOptions.value.protocolConfig.case, "http2ProtocolOptions");
}

describe("eds bootstrap", () => {
  const { yaml, bootstrap } = render(seed, "eds", { listenPort: 10123, adminPort: 19001 });

  it("has the node, admin and the xds_cluster", () => {
    checkCommon(bootstrap, 19001);
    assert.equal(bootstrap.dynamicResources, undefined);
  });

  it("has the config's listener, with the port overridden and routes inline", () => {
    const listeners = bootstrap.staticResources!.listeners;
    assert.deepEqual(
      listeners.map((l) => l.name),
      ["listener_0"],
    );
    assert.deepEqual(socket(listeners[0].address), { address: "0.0.0.0", port: 10123 });
    const filter = listeners[0].filterChains[0].filters[0];
    assert.equal(filter.name, "envoy.filters.network.http_connection_manager");
    assert.equal(filter.configType.case, "typedConfig");
    const hcm = anyUnpack(filter.configType.value, HttpConnectionManagerSchema)!;
    assert.equal(hcm.statPrefix, "listener_0");
    assert.equal(hcm.routeSpecifier.case, "routeConfig");
    assert.deepEqual(
      hcm.routeSpecifier.value.virtualHosts.map((v) => [v.domains, v.routes[0].action.case === "route" && v.routes[0].action.value.clusterSpecifier.value]),
      [
        [["nginx.local"], "nginx_cluster"],
        [["httpd.local"], "httpd_cluster"],
      ],
    );
    assert.equal(hcm.httpFilters[0].name, "envoy.filters.http.router");
  });

  it("has EDS clusters that use the EndpointDiscoveryService on xds_cluster", () => {
    const clusters = bootstrap.staticResources!.clusters.filter((c) => c.name !== "xds_cluster");
    assert.deepEqual(
      clusters.map((c) => c.name),
      ["nginx_cluster", "httpd_cluster"],
    );
    for (const c of clusters) {
      assert.deepEqual(c.clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.EDS });
      const eds = c.edsClusterConfig?.edsConfig;
      assert.equal(eds?.resourceApiVersion, ApiVersion.V3);
      assert.equal(eds?.configSourceSpecifier.case, "apiConfigSource");
      const api = eds.configSourceSpecifier.value;
      assert.equal(api.apiType, ApiConfigSource_ApiType.GRPC);
      assert.equal(api.transportApiVersion, ApiVersion.V3);
      assert.deepEqual(
        api.grpcServices.map((g) => g.targetSpecifier.case === "envoyGrpc" && g.targetSpecifier.value.clusterName),
        ["xds_cluster"],
      );
    }
  });

  it("reads like Envoy's docs: proto field names, @type first", () => {
    assert.match(yaml, /^# Envoy bootstrap generated by xdsd/);
    assert.match(yaml, /static_resources:/);
    assert.match(
      yaml,
      /typed_config:\n\s+"@type": type.googleapis.com\/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n\s+stat_prefix: listener_0/,
    );
    assert.doesNotMatch(yaml, /staticResources|connectTimeout/);
  });

  it("leaves the translated resources untouched", () => {
    const original = seed.defaults.find((r) => r.name === "listener_0" && r.typeUrl.endsWith("Listener"))!;
    const { yaml: again } = render(seed, "eds");
    assert.match(again, /port_value: 10000/);
    assert.doesNotMatch(
      JSON.stringify(original.message, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
      /10123/,
    );
  });
});

describe("ads bootstrap", () => {
  const { bootstrap } = render(seed, "ads");

  it("has the node, admin on 9901 and only the xds_cluster", () => {
    checkCommon(bootstrap);
    assert.deepEqual(
      bootstrap.staticResources?.clusters.map((c) => c.name),
      ["xds_cluster"],
    );
    assert.deepEqual(bootstrap.staticResources?.listeners, []);
  });

  it("gets clusters and listeners over ADS from xds_cluster", () => {
    const dynamic = bootstrap.dynamicResources!;
    assert.equal(dynamic.adsConfig?.apiType, ApiConfigSource_ApiType.GRPC);
    assert.equal(dynamic.adsConfig?.transportApiVersion, ApiVersion.V3);
    assert.deepEqual(
      dynamic.adsConfig?.grpcServices.map((g) => g.targetSpecifier.case === "envoyGrpc" && g.targetSpecifier.value.clusterName),
      ["xds_cluster"],
    );
    for (const source of [dynamic.cdsConfig, dynamic.ldsConfig]) {
      assert.equal(source?.configSourceSpecifier.case, "ads");
      assert.equal(source?.resourceApiVersion, ApiVersion.V3);
    }
  });
});

/** The grpc_services of every xDS stream the bootstrap opens (ADS, or CDS and LDS), and the EDS of eds mode. */
function grpcServicesOf(bootstrap: Bootstrap) {
  const sources = [
    bootstrap.dynamicResources?.adsConfig,
    ...[
      bootstrap.dynamicResources?.cdsConfig,
      bootstrap.dynamicResources?.ldsConfig,
      ...bootstrap.staticResources!.clusters.map((c) => c.edsClusterConfig?.edsConfig),
    ].map((c) => (c?.configSourceSpecifier.case === "apiConfigSource" ? c.configSourceSpecifier.value : undefined)),
  ];
  return sources.flatMap((s) => s?.grpcServices ?? []);
}

// Issue 20: several xdsd replicas on one etcd store; Envoy must reach a live one within a second or two.
describe("several replicas (--xds H:P,H:P,...)", () => {
  const replicas = [18001, 18002, 18003].map((port) => ({ host: "127.0.0.1", port }));

  it("puts every replica in xds_cluster, ejects one that refuses a connection, and reopens streams after 100 ms to 1 s", () => {
    for (const mode of bootstrapModes) {
      const { bootstrap } = render(seedFor(mode), mode, { xds: replicas });
      const xds = bootstrap.staticResources!.clusters.find((c) => c.name === "xds_cluster")!;
      assert.deepEqual(
        xds.loadAssignment!.endpoints.flatMap((l) =>
          l.lbEndpoints.map((e) => socket(e.hostIdentifier.case === "endpoint" ? e.hostIdentifier.value.address : undefined)),
        ),
        replicas.map((r) => ({ address: r.host, port: r.port })),
        mode,
      );
      assert.deepEqual(xds.clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.STATIC });
      assert.deepEqual(
        [xds.outlierDetection?.consecutiveLocalOriginFailure, xds.outlierDetection?.splitExternalLocalOriginErrors, xds.outlierDetection?.maxEjectionPercent],
        [1, true, 100],
      );
      const services = grpcServicesOf(bootstrap);
      assert.equal(services.length > 0, mode !== "rest", `${mode}: its gRPC streams`);
      for (const g of services) {
        const backOff = g.targetSpecifier.case === "envoyGrpc" ? g.targetSpecifier.value.retryPolicy?.retryBackOff : undefined;
        assert.deepEqual([backOff?.baseInterval?.nanos, backOff?.maxInterval?.seconds], [100_000_000, 1n], mode);
      }
    }
  });

  it("the streams a per-type mode's resources open (EDS, RDS) reopen as fast as the bootstrap's", () => {
    const cluster = seedFor("xds").defaults.find((r) => r.typeUrl.endsWith(".Cluster"))!.message as { edsClusterConfig?: { edsConfig?: ConfigSource } };
    const source = cluster.edsClusterConfig?.edsConfig?.configSourceSpecifier;
    const g = source?.case === "apiConfigSource" ? source.value.grpcServices[0].targetSpecifier : undefined;
    assert.equal(g?.case === "envoyGrpc" && g.value.retryPolicy?.retryBackOff?.baseInterval?.nanos, 100_000_000);
  });

  it("names: STRICT_DNS; TLS checks the one name given, or the one name they share, or any replica's IP", () => {
    const named = render(seed, "ads", {
      xds: [
        { host: "xdsd-0.internal", port: 18000 },
        { host: "xdsd-1.internal", port: 18000 },
      ],
      tls: { ca: "/ca.pem", sni: "xdsd.internal" },
    });
    assert.deepEqual(named.bootstrap.staticResources?.clusters[0].clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.STRICT_DNS });
    assert.match(named.yaml, /sni: xdsd.internal/);
    const sameName = render(seed, "ads", { xds: [18000, 18001].map((port) => ({ host: "xdsd.internal", port })), tls: { ca: "/ca.pem" } });
    assert.match(sameName.yaml, /sni: xdsd.internal/);
    const oneName = render(seed, "ads", { xds: [{ host: "xdsd.internal", port: 18000 }] }).bootstrap.staticResources!.clusters[0];
    assert.equal(oneName.outlierDetection?.consecutiveLocalOriginFailure, 1, "a name may resolve to every replica");
    assert.equal(render(seed, "ads").bootstrap.staticResources!.clusters[0].outlierDetection, undefined, "one IP: one xdsd");
    const ips = render(seed, "ads", { xds: replicas.slice(0, 2).map((r, i) => ({ ...r, host: `127.0.0.${i + 1}` })), tls: { ca: "/ca.pem" } });
    assert.deepEqual(
      [...ips.yaml.matchAll(/san_type: IP_ADDRESS\n\s+matcher:\n\s+exact: (\S+)/g)].map((m) => m[1]),
      ["127.0.0.1", "127.0.0.2"],
    );
    assert.throws(
      () =>
        render(seed, "ads", {
          xds: [
            { host: "xdsd-0.internal", port: 18000 },
            { host: "127.0.0.1", port: 18000 },
          ],
          tls: { ca: "/ca.pem" },
        }),
      /bootstrap: --xds names replicas by different hosts \(xdsd-0.internal:18000, 127.0.0.1:18000\), and Envoy's TLS settings are one for all of them: give --tls-sni the name every replica's certificate carries/,
    );
  });

  it("refuses a replica listed twice, or none", () => {
    assert.throws(
      () => render(seed, "ads", { xds: [replicas[0], replicas[1], replicas[0]] }),
      /bootstrap: xds names 127.0.0.1:18001 twice; list each replica once/,
    );
    assert.throws(() => render(seed, "ads", { xds: [] }), /bootstrap: xds must name at least one xdsd address/);
    assert.throws(
      () => render(seed, "ads", { xds: [replicas[0], { host: "127.0.0.1", port: 0 }] }),
      /bootstrap: xds\[1\].port must be a port number from 1 to 65535, got 0/,
    );
  });
});

describe("bootstrap options", () => {
  const grouped = parseConfig(
    lines(
      'clusters: [{name: top, endpoints: ["127.0.0.1:1"]}]',
      "nodes:",
      "  canary/envoy-1:",
      '    clusters: [{name: canary_backend, endpoints: ["127.0.0.1:2"]}]',
    ),
    "g.yaml",
  );

  it("uses the node's group in eds mode", () => {
    const names = (nodeCluster: string) =>
      render(grouped, "eds", { nodeCluster })
        .bootstrap.staticResources!.clusters.map((c) => c.name)
        .filter((n) => n !== "xds_cluster");
    assert.deepEqual(names("canary"), ["canary_backend"]);
    assert.deepEqual(names("demo"), ["top"]);
  });

  it("delta-ads mode: the same dynamic resources over ADS, and ADS speaks the incremental protocol", () => {
    const { bootstrap } = render(seed, "delta-ads");
    const ads = bootstrap.dynamicResources!.adsConfig!;
    assert.equal(ads.apiType, ApiConfigSource_ApiType.DELTA_GRPC);
    assert.equal(render(seed, "ads").bootstrap.dynamicResources!.adsConfig!.apiType, ApiConfigSource_ApiType.GRPC);
    assert.equal(bootstrap.dynamicResources!.cdsConfig!.configSourceSpecifier.case, "ads");
    assert.equal(bootstrap.dynamicResources!.ldsConfig!.configSourceSpecifier.case, "ads");
  });

  it("xds and delta modes: one stream per type, and the node's group must fetch its endpoints and routes the same way", () => {
    for (const [mode, source, apiType] of [
      ["xds", "grpc", ApiConfigSource_ApiType.GRPC],
      ["delta", "delta-grpc", ApiConfigSource_ApiType.DELTA_GRPC],
    ] as const) {
      const { bootstrap } = render(seedFor(mode), mode);
      assert.equal(bootstrap.dynamicResources!.adsConfig, undefined, "no ADS");
      for (const c of [bootstrap.dynamicResources!.cdsConfig!, bootstrap.dynamicResources!.ldsConfig!]) {
        assert.equal(c.configSourceSpecifier.case, "apiConfigSource");
        assert.equal(c.configSourceSpecifier.case === "apiConfigSource" && c.configSourceSpecifier.value.apiType, apiType);
      }
      assert.throws(
        () => render(seed, mode),
        /--mode .* needs the node's config to say config_source: .*, but the top level of .* has config_source: ads \(the default\): write `config_source: .*` there/,
      );
      assert.equal(seedFor(mode).configSources.get(""), source);
    }
  });

  it("rest mode: every type polled over REST-JSON through an HTTP/1.1 xds_cluster, refreshed every second", () => {
    const { bootstrap } = render(seedFor("rest"), "rest");
    assert.equal(bootstrap.dynamicResources!.adsConfig, undefined, "no ADS");
    for (const c of [bootstrap.dynamicResources!.cdsConfig!, bootstrap.dynamicResources!.ldsConfig!]) {
      assert.equal(c.configSourceSpecifier.case, "apiConfigSource");
      const api = c.configSourceSpecifier.value as { apiType: number; clusterNames: string[]; refreshDelay?: { seconds: bigint } };
      assert.deepEqual([api.apiType, api.clusterNames, api.refreshDelay?.seconds], [ApiConfigSource_ApiType.REST, ["xds_cluster"], 1n]);
    }
    const xdsCluster = bootstrap.staticResources!.clusters.find((c) => c.name === "xds_cluster")!;
    assert.deepEqual(Object.keys(xdsCluster.typedExtensionProtocolOptions), [], "HTTP/1.1: no HTTP/2 protocol options");
    assert.throws(() => render(seed, "rest"), /--mode rest needs the node's config to say config_source: rest/);
  });

  it("resolves a host name for the xDS server with STRICT_DNS", () => {
    const yaml = renderBootstrap({ config: seed, nodeId: "n", nodeCluster: "c", xds: { host: "xdsd.internal", port: 18000 }, mode: "ads" });
    const bootstrap = fromJson(BootstrapSchema, parse(yaml) as JsonValue, { registry: envoyRegistry() });
    assert.deepEqual(bootstrap.staticResources?.clusters[0].clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.STRICT_DNS });
  });

  it("rejects bad arguments", () => {
    const base = { config: seed, nodeId: "n", nodeCluster: "c", xds: { host: "127.0.0.1", port: 18000 }, mode: "eds" as const };
    assert.throws(() => renderBootstrap({ ...base, nodeId: "" }), BadArgumentError);
    assert.throws(() => renderBootstrap({ ...base, xds: { host: "127.0.0.1", port: 0 } }), BadArgumentError);
    assert.throws(() => renderBootstrap({ ...base, listenPort: 70000 }), BadArgumentError);
    const clash = parseConfig(lines("clusters: [{name: xds_cluster, endpoints: []}]"), "x.yaml");
    assert.throws(() => renderBootstrap({ ...base, config: clash }), /reserves/);
  });
});

// A real Envoy is the final judge of a bootstrap; `--mode validate` checks it without binding anything.
// No skip: without an Envoy binary each test fails, saying how to install one (findEnvoyBinary's message).
describe("bootstraps pass `envoy --mode validate`", () => {
  const validate = (name: string, yaml: string) => {
    const envoy = findEnvoyBinary();
    const dir = mkdtempSync(join(tmpdir(), "xdsd-bootstrap-"));
    try {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, yaml);
      const out = execFileSync(envoy, ["--mode", "validate", "-c", file, "--log-level", "error", "--base-id", String(process.pid % 10000)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      assert.match(out, /OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  for (const mode of bootstrapModes) it(`the seed, ${mode} mode`, () => validate(mode, render(seedFor(mode), mode).yaml));
  const replicas = [18001, 18002, 18003].map((port) => ({ host: "127.0.0.1", port }));
  for (const mode of bootstrapModes) {
    it(`three replicas, ${mode} mode, with TLS`, () => {
      const ca = new TestCa(`replicas-${mode}`);
      try {
        validate(`${mode}-replicas`, render(seedFor(mode), mode, { xds: replicas, tls: { ca: ca.cert } }).yaml);
      } finally {
        rmSync(ca.dir, { recursive: true, force: true });
      }
    });
  }

  // eds mode puts the translated listeners and clusters in the bootstrap, so Envoy checks every short-form option.
  it("every short-form option and raw resources, eds mode", () => {
    const config = parseConfig(
      lines(
        "clusters:",
        '  - {name: a, connect_timeout: 0.25s, lb_policy: RING_HASH, http2: true, endpoints: ["127.0.0.1:1", "[::1]:2"]}',
        "  - name: b",
        "    lb_policy: MAGLEV",
        "    locality: {region: r1, zone: z1, sub_zone: s1}",
        "    endpoints: [{address: 10.0.0.1, port: 80, weight: 5}, {address: 10.0.0.2, port: 80, priority: 1, locality: {region: r2}}]",
        "  - {name: c, lb_policy: LEAST_REQUEST, endpoints: []}",
        "  - {name: d, lb_policy: RANDOM, endpoints: []}",
        "listeners:",
        "  - name: web",
        "    address: 127.0.0.1",
        "    port: 8080",
        "    route_config_name: web_routes",
        "    virtual_hosts:",
        "      - name: all",
        '        domains: ["*"]',
        "        routes:",
        "          - {path: /healthz, cluster: a, timeout: 1s}",
        '          - {regex: "^/v[0-9]+/.*", cluster: b}',
        "          - {prefix: /, weighted_clusters: [{name: c, weight: 90}, {name: d, weight: 10}]}",
        "  - name: echo.test:50051",
        "    grpc: true",
        '    virtual_hosts: [{name: echo, domains: ["*"], routes: [{prefix: "", cluster: a}]}]',
        "resources:",
        '  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener',
        "    name: raw_listener",
        "    address: {socket_address: {address: 0.0.0.0, port_value: 8081}}",
        "    filter_chains:",
        "      - filters:",
        "          - name: envoy.filters.network.http_connection_manager",
        "            typed_config:",
        '              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        "              stat_prefix: raw",
        "              rds: {route_config_name: raw_routes, config_source: {ads: {}, resource_api_version: V3}}",
        '              http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]',
        '  - "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
        "    name: raw_routes",
        '    virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: raw_static}}]}]',
        '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
        "    name: raw_static",
        "    type: STATIC",
        "    load_assignment: {cluster_name: raw_static, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]}",
      ),
      "rich.yaml",
    );
    const { yaml, bootstrap } = render(config, "eds");
    assert.deepEqual(
      bootstrap.staticResources?.listeners.map((l) => l.name),
      ["web", "raw_listener"],
    );
    validate("rich", yaml);
  });
});
