// The config's grpc_servers (gRFC A36 xDS-enabled servers): what an entry becomes, and the checks that keep a
// server from being sent a listener it would refuse or never ask for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { parseConfig } from "../../src/config/index.js";
import { grpcServerListenerName, grpcServerListenerNameTemplate } from "../../src/config/model.js";
import { renderBootstrap } from "../../src/bootstrap/bootstrap.js";
import type { Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "../../src/gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { assertOneIssue, columnOf, issuesOf, lines } from "./config-helpers.js";

describe("grpc_servers: translation", () => {
  const config = parseConfig(
    lines("grpc_servers:", "  - {address: 127.0.0.1, port: 50051}", '  - {address: "::", port: 50052, route_config_name: v6_routes}'),
    "t.yaml",
  );
  const named = (typeUrl: string, name: string) => config.defaults.find((r) => r.typeUrl === typeUrl && r.name === name)?.message;

  it("names each listener by the template xdsd bootstrap --grpc writes, with the bound address ([v6]:port)", () => {
    assert.equal(grpcServerListenerName("127.0.0.1", 50051), "grpc/server?xds.resource.listening_address=127.0.0.1:50051");
    assert.equal(grpcServerListenerName("::", 50052), grpcServerListenerNameTemplate.replace("%s", "[::]:50052"));
    assert.deepEqual(
      config.defaults.map((r) => `${r.typeUrl.split(".").pop()} ${r.name}`),
      [
        "Listener grpc/server?xds.resource.listening_address=127.0.0.1:50051",
        "RouteConfiguration grpc/server?xds.resource.listening_address=127.0.0.1:50051",
        "Listener grpc/server?xds.resource.listening_address=[::]:50052",
        "RouteConfiguration v6_routes",
      ],
    );
  });

  it("gives the listener the bound socket address and one filter chain: the HCM over RDS from ADS, router last", () => {
    const listener = named(TypeUrl.Listener, grpcServerListenerName("127.0.0.1", 50051)) as Listener;
    const socket = listener.address?.address;
    assert.equal(socket?.case, "socketAddress");
    assert.equal(socket.value.address, "127.0.0.1");
    assert.deepEqual(socket.value.portSpecifier, { case: "portValue", value: 50051 });
    assert.equal(listener.apiListener, undefined);
    assert.equal(listener.filterChains.length, 1);
    assert.equal(listener.filterChains[0].filterChainMatch, undefined, "one chain that takes every connection");
    const [filter] = listener.filterChains[0].filters;
    assert.equal(listener.filterChains[0].filters.length, 1, "gRFC A36: exactly one filter, the HTTP connection manager");
    assert.equal(filter.configType.case, "typedConfig");
    const hcm = anyUnpack(filter.configType.value, HttpConnectionManagerSchema)!;
    assert.equal(hcm.routeSpecifier.case, "rds");
    assert.equal(hcm.routeSpecifier.value.routeConfigName, listener.name);
    assert.equal(hcm.routeSpecifier.value.configSource?.configSourceSpecifier.case, "ads");
    const last = hcm.httpFilters.at(-1)!;
    assert.equal(last.configType.case, "typedConfig");
    assert.ok(anyUnpack(last.configType.value, RouterSchema), "the router filter last, with its typed_config");
  });

  it("routes every authority and method to non_forwarding_action: the server serves the RPCs itself", () => {
    const routes = named(TypeUrl.RouteConfiguration, "v6_routes") as RouteConfiguration;
    assert.equal(routes.virtualHosts.length, 1);
    assert.deepEqual(routes.virtualHosts[0].domains, ["*"]);
    const [route] = routes.virtualHosts[0].routes;
    assert.deepEqual(route.match?.pathSpecifier, { case: "prefix", value: "" });
    assert.equal(route.action.case, "nonForwardingAction");
  });

  it("keeps a gRPC server's listener out of an Envoy bootstrap's static listeners (eds mode)", () => {
    const withEnvoy = parseConfig(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners: [{name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: c}]}]}]",
        "grpc_servers: [{address: 127.0.0.1, port: 50051}]",
      ),
      "t.yaml",
    );
    const yaml = renderBootstrap({ config: withEnvoy, nodeId: "e", nodeCluster: "c", xds: { host: "127.0.0.1", port: 18000 }, mode: "eds" });
    assert.match(yaml, /name: l\b/);
    assert.doesNotMatch(yaml, /grpc\/server/);
  });
});

describe("grpc_servers: checks", () => {
  it("requires an IP address: the server asks for its listener by the address it binds", () => {
    const text = lines("grpc_servers:", "  - {address: localhost, port: 50051}");
    assertOneIssue(
      text,
      2,
      columnOf(text, 2, "localhost"),
      "grpc_servers[0].address",
      /"localhost" is not an IPv4 or IPv6 address; a gRPC server asks for its listener/,
    );
  });

  it("requires address and port (schema)", () => {
    const text = lines("grpc_servers:", "  - {address: 127.0.0.1}");
    assertOneIssue(text, 2, 5, "grpc_servers[0]", /port/);
  });

  it("reports the same address and port twice once, as a duplicate listener", () => {
    const text = lines("grpc_servers:", "  - {address: 127.0.0.1, port: 50051}", "  - {address: 127.0.0.1, port: 50051}");
    assertOneIssue(
      text,
      3,
      columnOf(text, 3, "50051"),
      "grpc_servers[1].port",
      /duplicate Listener name "grpc\/server\?xds.resource.listening_address=127.0.0.1:50051": already defined by grpc_servers\[0\], line 2/,
    );
  });

  it("reports a port a listener of the group binds on the same address", () => {
    const text = lines(
      "clusters: [{name: c, endpoints: []}]",
      "listeners: [{name: l, address: 0.0.0.0, port: 50051, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: c}]}]}]",
      "grpc_servers:",
      "  - {address: 127.0.0.1, port: 50051}",
    );
    assertOneIssue(text, 4, columnOf(text, 4, "50051"), "grpc_servers[0].port", /port 50051 on 127.0.0.1 clashes with listener "l" on 0.0.0.0:50051/);
  });

  it("requires config_source: ads, the only way gRPC fetches", () => {
    const text = lines("config_source: grpc", "grpc_servers:", "  - {address: 127.0.0.1, port: 50051}");
    assertOneIssue(text, 3, 5, "grpc_servers[0]", /gRPC servers fetch over ADS only, but this group's config_source is grpc; use config_source: ads/);
  });

  it("checks a node group's servers on their own", () => {
    const text = lines("nodes:", "  grpc/server-1:", "    grpc_servers: [{address: 10.0.0.x, port: 1}]");
    const issues = issuesOf(text);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].location.path, 'nodes["grpc/server-1"].grpc_servers[0].address');
  });
});
