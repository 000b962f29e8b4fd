// Raw Envoy resources under `resources:` are taken as Envoy itself would read them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { parseConfig } from "../../src/config/index.js";
import { Cluster_DiscoveryType, Cluster_LbPolicy, type Cluster } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../src/gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { Secret } from "../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { columnOf, issuesOf, lines } from "./config-helpers.js";

const rawConfig = lines(
  "resources:", // 1
  '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster', // 2
  "    name: backend",
  "    connect_timeout: 0.5s",
  "    type: EDS",
  "    lb_policy: LEAST_REQUEST",
  "    eds_cluster_config:",
  "      eds_config: {ads: {}, resource_api_version: V3}",
  "      service_name: backend_eds",
  "    typed_extension_protocol_options:",
  "      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:",
  '        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  "        explicit_http_config: {http2_protocol_options: {}}",
  '  - "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment', // 14
  "    cluster_name: backend_eds",
  "    endpoints:",
  "      - locality: {region: local}",
  "        load_balancing_weight: 1",
  "        lb_endpoints:",
  "          - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9000}}}",
  "            health_status: HEALTHY",
  '  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener', // 22
  "    name: ingress",
  "    address: {socket_address: {address: 0.0.0.0, port_value: 8443}}",
  "    filter_chains:",
  "      - filters:",
  "          - name: envoy.filters.network.http_connection_manager",
  "            typed_config:",
  '              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  "              stat_prefix: ingress_http",
  "              codec_type: AUTO",
  "              rds:",
  "                route_config_name: ingress_routes",
  "                config_source: {ads: {}, resource_api_version: V3}",
  "              http_filters:",
  "                - name: envoy.filters.http.router",
  "                  typed_config:",
  '                    "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  '  - "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration', // 39
  "    name: ingress_routes",
  "    virtual_hosts:",
  "      - name: any",
  '        domains: ["*"]',
  "        routes:",
  "          - match: {prefix: /api}",
  "            route: {cluster: backend, timeout: 2s}",
  "          - match: {prefix: /}",
  "            route: {cluster: web}",
  '  - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', // 49
  "    name: server_cert",
  "    tls_certificate:",
  '      certificate_chain: {inline_string: "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"}',
  "      private_key: {filename: /etc/certs/key.pem}",
  "clusters:", // 54
  '  - {name: web, endpoints: ["127.0.0.1:8080"]}',
);

describe("raw resources", () => {
  const config = parseConfig(rawConfig, "raw.yaml");
  const find = (typeUrl: string, name: string) => {
    const r = config.defaults.find((x) => x.typeUrl === typeUrl && x.name === name);
    assert.ok(r, `${typeUrl} ${name}`);
    return r;
  };

  it("accepts a Cluster, its ClusterLoadAssignment, a Listener, its RouteConfiguration and a Secret", () => {
    assert.deepEqual(
      config.defaults.map((r) => [r.typeUrl, r.name]),
      [
        [TypeUrl.Cluster, "web"],
        [TypeUrl.ClusterLoadAssignment, "web"],
        [TypeUrl.Cluster, "backend"],
        [TypeUrl.ClusterLoadAssignment, "backend_eds"],
        [TypeUrl.Listener, "ingress"],
        [TypeUrl.RouteConfiguration, "ingress_routes"],
        [TypeUrl.Secret, "server_cert"],
      ],
    );
  });

  it("decodes every field, including Any fields by their @type", () => {
    const cluster = find(TypeUrl.Cluster, "backend").message as Cluster;
    assert.deepEqual(cluster.clusterDiscoveryType, { case: "type", value: Cluster_DiscoveryType.EDS });
    assert.equal(cluster.lbPolicy, Cluster_LbPolicy.LEAST_REQUEST);
    assert.equal(cluster.connectTimeout?.nanos, 500_000_000);
    assert.equal(cluster.edsClusterConfig?.serviceName, "backend_eds");
    assert.equal(
      cluster.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].typeUrl,
      "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    );

    const cla = find(TypeUrl.ClusterLoadAssignment, "backend_eds").message as ClusterLoadAssignment;
    assert.equal(cla.endpoints[0].locality?.region, "local");
    assert.equal(cla.endpoints[0].lbEndpoints[0].hostIdentifier.case, "endpoint");

    const listener = find(TypeUrl.Listener, "ingress").message as Listener;
    const filter = listener.filterChains[0].filters[0];
    assert.equal(filter.configType.case, "typedConfig");
    const hcm = anyUnpack(filter.configType.value, HttpConnectionManagerSchema)!;
    assert.equal(hcm.statPrefix, "ingress_http");
    assert.equal(hcm.routeSpecifier.case === "rds" && hcm.routeSpecifier.value.routeConfigName, "ingress_routes");
    const router = hcm.httpFilters[0].configType;
    assert.equal(router.case === "typedConfig" && router.value.typeUrl, `type.googleapis.com/${RouterSchema.typeName}`);

    const routes = find(TypeUrl.RouteConfiguration, "ingress_routes").message as RouteConfiguration;
    const action = routes.virtualHosts[0].routes[0].action;
    assert.equal(action.case === "route" && action.value.timeout?.seconds, 2n);

    const secret = find(TypeUrl.Secret, "server_cert").message as Secret;
    assert.equal(secret.type.case, "tlsCertificate");
    const chain = secret.type.case === "tlsCertificate" ? secret.type.value.certificateChain?.specifier : undefined;
    assert.equal(chain?.case, "inlineString");
    assert.match(String(chain?.value), /BEGIN CERTIFICATE/);
  });

  it("locates each raw resource", () => {
    assert.deepEqual(find(TypeUrl.Cluster, "backend").location, { file: "raw.yaml", line: 2, column: 5, path: "resources[0]" });
    assert.deepEqual(find(TypeUrl.Secret, "server_cert").location, { file: "raw.yaml", line: 49, column: 5, path: "resources[4]" });
  });

  it("accepts proto3 JSON names (camelCase) as Envoy does, and raw clusters satisfy short-form routes", () => {
    const config = parseConfig(
      lines(
        "resources:",
        '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
        "    name: static_backend",
        "    type: STATIC",
        "    connectTimeout: 1s",
        "    loadAssignment:",
        "      clusterName: static_backend",
        "      endpoints: [{lbEndpoints: [{endpoint: {address: {socketAddress: {address: 127.0.0.1, portValue: 9000}}}}]}]",
        "listeners:",
        "  - name: l",
        "    port: 10000",
        '    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: static_backend}]}]',
      ),
      "camel.yaml",
    );
    const cluster = config.defaults.find((r) => r.typeUrl === TypeUrl.Cluster)!.message as Cluster;
    assert.equal(cluster.loadAssignment?.endpoints[0].lbEndpoints.length, 1);
    assert.deepEqual(
      config.defaults.map((r) => r.typeUrl),
      [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster],
    );
  });

  it("accepts the other xDS resource types", () => {
    const config = parseConfig(
      lines(
        "resources:",
        '  - {"@type": type.googleapis.com/envoy.service.runtime.v3.Runtime, name: rtds, layer: {health_check.min_interval: 5}}',
        // A VirtualHost is fetched over VHDS for its route configuration, which must have vhds.
        '  - {"@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration, name: routes, vhds: {config_source: {ads: {}}}}',
        '  - {"@type": type.googleapis.com/envoy.config.route.v3.VirtualHost, name: routes/example.com, domains: [example.com]}',
        '  - "@type": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig',
        "    name: router",
        '    typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}',
      ),
      "other.yaml",
    );
    assert.deepEqual(
      config.defaults.map((r) => [r.typeUrl, r.name]),
      [
        [TypeUrl.Runtime, "rtds"],
        [TypeUrl.RouteConfiguration, "routes"],
        [TypeUrl.VirtualHost, "routes/example.com"],
        [TypeUrl.ExtensionConfig, "router"],
      ],
    );
  });

  it("reports every field that does not decode, each where it is, not only the first (issue 18, item 16)", () => {
    const text = lines(
      "resources:",
      '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
      "    name: raw",
      "    conect_timeout: 1s", // 4: a misspelt key
      "    type: STATIK", // 5: a bad enum value, behind it
      "    load_assignment:",
      "      cluster_name: raw",
      "      endpoints:",
      "        - lb_endpoints:",
      "            - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: many}}}", // 10: deep inside
      "            - endpoint: {adress: {}}", // 11: in the next item of the same list
    );
    const issues = issuesOf(text);
    assert.deepEqual(
      issues.map((i) => [i.location.line, i.location.column, i.location.path]),
      [
        [4, columnOf(text, 4, "conect_timeout"), "resources[0].conect_timeout"],
        [5, columnOf(text, 5, "STATIK"), "resources[0].type"],
        [10, columnOf(text, 10, "many"), "resources[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value"],
        [11, columnOf(text, 11, "adress"), "resources[0].load_assignment.endpoints[0].lb_endpoints[1].endpoint.adress"],
      ],
      JSON.stringify(issues, null, 1),
    );
    assert.match(issues[0].message, /key "conect_timeout" is unknown/);
    assert.match(issues[1].message, /STATIK/);
    assert.match(issues[2].message, /many/);
    assert.match(issues[3].message, /key "adress" is unknown/);
  });
});
