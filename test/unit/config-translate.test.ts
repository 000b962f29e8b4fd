// The short form -> Envoy resources, field by field, as a real Envoy 1.40 and grpc-js need them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { toJson } from "@bufbuild/protobuf";
import { loadConfigFile, parseConfig, type ConfigResource } from "../../src/config/index.js";
import { Cluster_DiscoveryType, Cluster_LbPolicy, type Cluster } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ApiConfigSource_ApiType, ApiVersion, type ApiConfigSource } from "../../src/gen/envoy/config/core/v3/config_source_pb.js";
import { ConfigError } from "../../src/errors.js";
import type { ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../src/gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpProtocolOptionsSchema } from "../../src/gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { lines, repoFile } from "./config-helpers.js";

function byType(resources: ConfigResource[], typeUrl: string): ConfigResource[] {
  return resources.filter((r) => r.typeUrl === typeUrl);
}

function json(r: ConfigResource): unknown {
  const desc = envoyRegistry().getMessage(r.message.$typeName)!;
  return toJson(desc, r.message, { registry: envoyRegistry(), useProtoFieldName: true });
}

const seed = repoFile("examples/seed.yaml");

describe("examples/seed.yaml", () => {
  const config = loadConfigFile(seed);

  it("has 2 Clusters, 2 ClusterLoadAssignments, 1 Listener and 1 RouteConfiguration, and no node groups", () => {
    assert.equal(config.file, seed);
    assert.deepEqual(
      config.defaults.map((r) => [r.typeUrl, r.name]),
      [
        [TypeUrl.Cluster, "nginx_cluster"],
        [TypeUrl.ClusterLoadAssignment, "nginx_cluster"],
        [TypeUrl.Cluster, "httpd_cluster"],
        [TypeUrl.ClusterLoadAssignment, "httpd_cluster"],
        [TypeUrl.Listener, "listener_0"],
        [TypeUrl.RouteConfiguration, "listener_0"],
      ],
    );
    assert.equal(config.nodes.size, 0);
    for (const r of config.defaults) assert.equal(r.message.$typeName, r.typeUrl.slice(r.typeUrl.indexOf("/") + 1));
  });

  it("makes EDS clusters that get their endpoints over ADS", () => {
    const cluster = byType(config.defaults, TypeUrl.Cluster)[0].message as Cluster;
    assert.deepEqual(cluster.clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.EDS });
    assert.equal(cluster.edsClusterConfig?.edsConfig?.configSourceSpecifier.case, "ads");
    assert.equal(cluster.edsClusterConfig?.edsConfig?.resourceApiVersion, ApiVersion.V3);
    assert.equal(cluster.lbPolicy, Cluster_LbPolicy.ROUND_ROBIN);
    assert.deepEqual(json(byType(config.defaults, TypeUrl.Cluster)[0]), {
      name: "nginx_cluster",
      type: "EDS",
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" } },
      connect_timeout: "5s",
    });
  });

  it("puts the endpoints in one locality weighing what they weigh together (grpc-js requires a weight)", () => {
    assert.deepEqual(json(byType(config.defaults, TypeUrl.ClusterLoadAssignment)[1]), {
      cluster_name: "httpd_cluster",
      endpoints: [
        {
          locality: {},
          load_balancing_weight: 2,
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 8083 } } }, load_balancing_weight: 1 },
            { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 8084 } } }, load_balancing_weight: 1 },
          ],
        },
      ],
    });
    // Present even though empty: grpc-js rejects a LocalityLbEndpoints without a locality message.
    const cla = byType(config.defaults, TypeUrl.ClusterLoadAssignment)[0].message as ClusterLoadAssignment;
    assert.ok(cla.endpoints[0].locality);
  });

  it("makes a listener whose HTTP connection manager gets routes over RDS and ends with a typed router", () => {
    const listener = byType(config.defaults, TypeUrl.Listener)[0].message as Listener;
    const socket = listener.address?.address;
    assert.equal(socket?.case, "socketAddress");
    assert.equal(socket?.value.address, "0.0.0.0");
    assert.deepEqual(socket?.value.portSpecifier, { case: "portValue", value: 10000 });
    const filter = listener.filterChains[0].filters[0];
    assert.equal(filter.name, "envoy.filters.network.http_connection_manager");
    assert.equal(filter.configType.case, "typedConfig");
    const hcm = anyUnpack(filter.configType.value!, HttpConnectionManagerSchema)!;
    assert.equal(hcm.statPrefix, "listener_0");
    assert.equal(hcm.routeSpecifier.case, "rds");
    assert.equal(hcm.routeSpecifier.value.routeConfigName, "listener_0");
    assert.equal(hcm.routeSpecifier.value.configSource?.configSourceSpecifier.case, "ads");
    assert.equal(hcm.routeSpecifier.value.configSource?.resourceApiVersion, ApiVersion.V3);
    assert.equal(hcm.httpFilters.length, 1);
    assert.equal(hcm.httpFilters[0].name, "envoy.filters.http.router");
    assert.equal(hcm.httpFilters[0].configType.case, "typedConfig");
    assert.equal(hcm.httpFilters[0].configType.value.typeUrl, `type.googleapis.com/${RouterSchema.typeName}`);
  });

  it("routes nginx.local and httpd.local to their clusters", () => {
    assert.deepEqual(json(byType(config.defaults, TypeUrl.RouteConfiguration)[0]), {
      name: "listener_0",
      virtual_hosts: [
        { name: "nginx_service", domains: ["nginx.local"], routes: [{ match: { prefix: "/" }, route: { cluster: "nginx_cluster" } }] },
        { name: "httpd_service", domains: ["httpd.local"], routes: [{ match: { prefix: "/" }, route: { cluster: "httpd_cluster" } }] },
      ],
    });
  });

  it("remembers where each resource came from", () => {
    const [nginx, , httpd, , listener, routes] = config.defaults;
    assert.deepEqual(nginx.location, { file: seed, line: 6, column: 5, path: "clusters[0]" });
    assert.deepEqual(httpd.location, { file: seed, line: 8, column: 5, path: "clusters[1]" });
    assert.deepEqual(listener.location, { file: seed, line: 12, column: 5, path: "listeners[0]" });
    assert.deepEqual(routes.location, listener.location);
  });
});

describe("short-form options", () => {
  it("translates connect_timeout, lb_policy, http2, weights, localities and priorities", () => {
    const config = parseConfig(
      lines(
        "clusters:",
        "  - name: grpc_backend",
        "    connect_timeout: 0.25s",
        "    lb_policy: RING_HASH",
        "    http2: true",
        "    locality: {region: eu, zone: eu-1}",
        "    endpoints:",
        '      - "[::1]:50051"',
        "      - {address: 10.0.0.2, port: 50051, weight: 3}",
        "      - {address: 10.0.0.3, port: 50051, locality: {region: us}}",
        "      - {address: 10.0.0.4, port: 50051, priority: 1}",
      ),
      "opts.yaml",
    );
    const [cluster, cla] = config.defaults;
    assert.deepEqual(json(cluster), {
      name: "grpc_backend",
      type: "EDS",
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" } },
      connect_timeout: "0.250s",
      lb_policy: "RING_HASH",
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": `type.googleapis.com/${HttpProtocolOptionsSchema.typeName}`,
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    });
    const ep = (address: string, port: number, weight: number) => ({
      endpoint: { address: { socket_address: { address, port_value: port } } },
      load_balancing_weight: weight,
    });
    assert.deepEqual(json(cla), {
      cluster_name: "grpc_backend",
      endpoints: [
        // gRPC splits between localities by these weights (its round_robin ignores the endpoints' own).
        { locality: { region: "eu", zone: "eu-1" }, load_balancing_weight: 4, lb_endpoints: [ep("::1", 50051, 1), ep("10.0.0.2", 50051, 3)] },
        { locality: { region: "us" }, load_balancing_weight: 1, lb_endpoints: [ep("10.0.0.3", 50051, 1)] },
        { locality: { region: "eu", zone: "eu-1" }, load_balancing_weight: 1, priority: 1, lb_endpoints: [ep("10.0.0.4", 50051, 1)] },
      ],
    });
  });

  it("translates path, regex and weighted routes, timeouts, addresses and route_config_name", () => {
    const config = parseConfig(
      lines(
        "clusters:",
        "  - {name: a, endpoints: []}",
        "  - {name: b, endpoints: []}",
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
        "          - {prefix: /, weighted_clusters: [{name: a, weight: 90}, {name: b, weight: 10}]}",
      ),
      "routes.yaml",
    );
    const listener = config.defaults.find((r) => r.typeUrl === TypeUrl.Listener)!;
    const routes = config.defaults.find((r) => r.typeUrl === TypeUrl.RouteConfiguration)!;
    assert.equal(routes.name, "web_routes");
    const socket = (listener.message as Listener).address?.address;
    assert.equal(socket?.case === "socketAddress" && socket.value.address, "127.0.0.1");
    const filter = (listener.message as Listener).filterChains[0].filters[0];
    assert.equal(filter.configType.case, "typedConfig");
    const hcm = anyUnpack(filter.configType.value, HttpConnectionManagerSchema)!;
    assert.equal(hcm.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.routeConfigName, "web_routes");
    assert.deepEqual(json(routes), {
      name: "web_routes",
      virtual_hosts: [
        {
          name: "all",
          domains: ["*"],
          routes: [
            { match: { path: "/healthz" }, route: { cluster: "a", timeout: "1s" } },
            { match: { safe_regex: { regex: "^/v[0-9]+/.*" } }, route: { cluster: "b" } },
            {
              match: { prefix: "/" },
              route: {
                weighted_clusters: {
                  clusters: [
                    { name: "a", weight: 90 },
                    { name: "b", weight: 10 },
                  ],
                },
              },
            },
          ],
        },
      ],
    });
    assert.equal((routes.message as RouteConfiguration).virtualHosts[0].routes.length, 3);
  });

  it("makes a grpc listener an API listener (no socket) wrapping the same HTTP connection manager", () => {
    const config = parseConfig(
      lines(
        "clusters:",
        '  - {name: echo, endpoints: ["[::1]:50051"]}',
        "listeners:",
        "  - name: echo.test:50051",
        "    grpc: true",
        '    virtual_hosts: [{name: echo, domains: ["echo.test:50051"], routes: [{prefix: "", cluster: echo}]}]',
      ),
      "grpc.yaml",
    );
    const listener = config.defaults.find((r) => r.typeUrl === TypeUrl.Listener)!.message as Listener;
    assert.equal(listener.name, "echo.test:50051");
    assert.equal(listener.address, undefined);
    assert.equal(listener.filterChains.length, 0);
    const any = listener.apiListener?.apiListener;
    assert.equal(any?.typeUrl, `type.googleapis.com/${HttpConnectionManagerSchema.typeName}`);
    const hcm = anyUnpack(any!, HttpConnectionManagerSchema)!;
    assert.equal(hcm.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.routeConfigName, "echo.test:50051");
    assert.equal(hcm.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.configSource?.configSourceSpecifier.case, "ads");
    assert.equal(hcm.httpFilters.at(-1)?.name, "envoy.filters.http.router");
    assert.equal(config.defaults.find((r) => r.typeUrl === TypeUrl.RouteConfiguration)?.name, "echo.test:50051");
  });

  it("reads JSON as well as YAML, with the same result", () => {
    const yaml = parseConfig(lines("clusters:", '  - {name: a, endpoints: ["10.0.0.1:80"]}'), "a.yaml");
    const fromJsonText = parseConfig('{\n\t"clusters": [\n\t\t{"name": "a", "endpoints": ["10.0.0.1:80"]}\n\t]\n}\n', "a.json");
    assert.deepEqual(fromJsonText.defaults.map(json), yaml.defaults.map(json));
    assert.deepEqual(fromJsonText.defaults[0].location, { file: "a.json", line: 3, column: 3, path: "clusters[0]" });
  });

  it("accepts an empty mapping, a $schema key and YAML merge keys", () => {
    assert.deepEqual(parseConfig("{}\n", "e.yaml").defaults, []);
    const config = parseConfig(
      lines('$schema: "../schema/xdsd-config.schema.json"', "clusters:", "  - &base {name: a, connect_timeout: 2s, endpoints: []}", "  - {<<: *base, name: b}"),
      "m.yaml",
    );
    const clusters = config.defaults.filter((r) => r.typeUrl === TypeUrl.Cluster);
    assert.deepEqual(
      clusters.map((r) => [r.name, (json(r) as { connect_timeout: string }).connect_timeout]),
      [
        ["a", "2s"],
        ["b", "2s"],
      ],
    );
  });
});

describe("config_source", () => {
  const text = (source: string) =>
    lines(
      `config_source: ${source}`,
      "clusters:",
      '  - {name: a, endpoints: ["10.0.0.1:80"]}',
      "listeners:",
      "  - {name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: a}]}]}",
    );
  const sources = (source: string) => {
    const config = parseConfig(text(source), "s.yaml");
    const cluster = config.defaults.find((r) => r.typeUrl === TypeUrl.Cluster)!.message as Cluster;
    const listener = config.defaults.find((r) => r.typeUrl === TypeUrl.Listener)!.message as Listener;
    const filter = listener.filterChains[0].filters[0];
    const hcm = filter.configType.case === "typedConfig" ? anyUnpack(filter.configType.value, HttpConnectionManagerSchema)! : undefined;
    const rds = hcm?.routeSpecifier.case === "rds" ? hcm.routeSpecifier.value.configSource : undefined;
    return [cluster.edsClusterConfig!.edsConfig!, rds!];
  };

  it("ads (the default) sends clusters and listeners to the ADS stream for their endpoints and routes", () => {
    for (const s of sources("ads")) assert.equal(s.configSourceSpecifier.case, "ads");
  });

  it("grpc and delta-grpc send them to a per-type stream to xdsd through xds_cluster, of that protocol", () => {
    for (const [source, apiType] of [
      ["grpc", ApiConfigSource_ApiType.GRPC],
      ["delta-grpc", ApiConfigSource_ApiType.DELTA_GRPC],
    ] as const) {
      for (const s of sources(source)) {
        assert.equal(s.configSourceSpecifier.case, "apiConfigSource");
        const api = s.configSourceSpecifier.value as ApiConfigSource;
        assert.equal(api.apiType, apiType);
        assert.equal(api.transportApiVersion, ApiVersion.V3);
        assert.deepEqual(
          api.grpcServices.map((g) => g.targetSpecifier.case === "envoyGrpc" && g.targetSpecifier.value.clusterName),
          ["xds_cluster"],
        );
      }
    }
  });

  it("a gRPC listener in a group that does not fetch over ADS is refused where it says grpc", () => {
    const bad = lines(
      "config_source: grpc",
      "clusters: [{name: a, endpoints: []}]",
      "listeners:",
      "  - {name: echo.test, grpc: true, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: '', cluster: a}]}]}",
    );
    assert.throws(
      () => parseConfig(bad, "g.yaml"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.length === 1 &&
        e.issues[0].location.line === 4 &&
        e.issues[0].location.path === "listeners[0].grpc" &&
        /gRPC clients fetch over ADS only/.test(e.issues[0].message),
    );
    assert.throws(
      () => parseConfig(lines("config_source: carrier-pigeon"), "r.yaml"),
      (e: unknown) => e instanceof ConfigError && /must be one of: ads, grpc, delta-grpc, rest/.test(e.issues[0].message),
    );
  });
});
