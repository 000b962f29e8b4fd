// Every kind of bad input gets its own issue, pointing at the offending node: file, line, column, path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { loadConfigFile, parseConfig } from "../../src/config/index.js";
import { columnOf, issuesOf, lines } from "./config-helpers.js";

/** Exactly one issue, on `line` at the first `token` of that line (or at a column number), with this path. */
function expectIssue(text: string, line: number, token: string | number, path: string | undefined, message: RegExp): void {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, `expected one issue, got:\n${issues.map((i) => JSON.stringify(i)).join("\n")}`);
  const column = typeof token === "number" ? token : columnOf(text, line, token);
  const expected = path === undefined ? { file: "test.yaml", line, column } : { file: "test.yaml", line, column, path };
  assert.deepEqual(issues[0].location, expected);
  assert.match(issues[0].message, message);
}

const listenerTo = (cluster: string) => `{name: l, port: 10000, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: ${cluster}}]}]}`;

describe("syntax errors", () => {
  it("reports malformed YAML with its line and column", () => {
    expectIssue(lines("clusters:", "  - name: a: b"), 2, "a: b", undefined, /Nested mappings are not allowed/);
  });

  it("reports an unterminated flow sequence", () => {
    expectIssue(
      lines("clusters:", "  - name: a", '    endpoints: ["127.0.0.1:80"', "listeners: []"),
      4,
      "listeners",
      undefined,
      /must be sufficiently indented and end with a \]/,
    );
  });

  it("reports duplicate keys", () => {
    expectIssue(lines("clusters: []", "listeners: []", "clusters: []"), 3, "clusters", undefined, /Map keys must be unique/);
  });

  it("reports tabs used for indentation", () => {
    expectIssue(lines("clusters:", "\t- name: a"), 2, 1, undefined, /Tabs are not allowed/);
  });

  it("reports a second YAML document", () => {
    expectIssue(lines("clusters: []", "---", "listeners: []"), 2, "---", undefined, /one YAML document/);
  });

  it("reports malformed JSON", () => {
    const issues = issuesOf('{"clusters": [\n  {"name": "a"\n]}\n');
    assert.ok(issues.length >= 1);
    assert.deepEqual(issues[0].location, { file: "test.yaml", line: 3, column: 1 });
    assert.match(issues[0].message, /Flow map/);
  });

  it("reports an empty file", () => {
    expectIssue("# nothing here\n", 1, 1, undefined, /the config is empty/);
  });
});

describe("structural errors (JSON Schema)", () => {
  it("reports an unknown top-level key, with a suggestion", () => {
    expectIssue(lines("listener: []"), 1, "listener", "listener", /unknown key "listener" \(did you mean "listeners"\?\)/);
  });

  it("reports an unknown nested key at the key", () => {
    expectIssue(
      lines("clusters:", "  - name: a", '    endpoints: ["127.0.0.1:80"]', "    lb_polcy: RANDOM"),
      4,
      "lb_polcy",
      "clusters[0].lb_polcy",
      /unknown key "lb_polcy" \(did you mean "lb_policy"\?\)/,
    );
  });

  it("lists the known keys when nothing is close", () => {
    expectIssue(
      lines("clusters:", "  - {name: a, endpoints: [], color: red}"),
      2,
      "color",
      "clusters[0].color",
      /expected one of: name, connect_timeout, lb_policy/,
    );
  });

  it("reports a wrong type", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, port: "10000", virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      3,
      '"10000"',
      "listeners[0].port",
      /must be an integer, not the string "10000"/,
    );
  });

  it("reports a scalar where a list belongs", () => {
    expectIssue(lines("clusters:", "  - name: a", "    endpoints: 127.0.0.1:80"), 3, "127", "clusters[0].endpoints", /must be a list, not the string/);
  });

  it("reports a YAML 1.1 boolean (a string in YAML 1.2)", () => {
    expectIssue(lines("clusters:", "  - {name: a, http2: yes, endpoints: []}"), 2, "yes", "clusters[0].http2", /must be true or false, not the string "yes"/);
  });

  it("reports a bad enum value", () => {
    expectIssue(
      lines("clusters:", "  - {name: a, lb_policy: round_robin, endpoints: []}"),
      2,
      "round_robin",
      "clusters[0].lb_policy",
      /must be one of: ROUND_ROBIN, LEAST_REQUEST/,
    );
  });

  it("reports a bad duration", () => {
    expectIssue(lines("clusters:", "  - {name: a, connect_timeout: 250ms, endpoints: []}"), 2, "250ms", "clusters[0].connect_timeout", /duration in seconds/);
  });

  it("reports a missing required key at the mapping that lacks it", () => {
    expectIssue(lines("clusters:", "  - name: a", "listeners: []"), 2, "name", "clusters[0]", /missing required key "endpoints"/);
  });

  it("requires a port on a socket listener", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      3,
      "{",
      "listeners[0]",
      /missing required key "port"/,
    );
  });

  it("forbids a port on a grpc listener", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        "  - name: echo:1",
        "    grpc: true",
        "    port: 50051",
        '    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: "", cluster: c}]}]',
      ),
      5,
      "50051",
      "listeners[0].port",
      /a grpc listener has no port/,
    );
  });

  it("reports a route with two matchers", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, path: /x, cluster: c}]}]}',
      ),
      3,
      "{prefix",
      "listeners[0].virtual_hosts[0].routes[0]",
      /exactly one of prefix, path, regex/,
    );
  });

  it("reports a route with no action", () => {
    expectIssue(
      lines("listeners:", '  - {name: l, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /}]}]}'),
      2,
      "{prefix",
      "listeners[0].virtual_hosts[0].routes[0]",
      /exactly one of cluster, weighted_clusters/,
    );
  });

  it("reports a raw resource without @type", () => {
    expectIssue(lines("resources:", "  - name: x"), 2, "name", "resources[0]", /missing required key "@type"/);
  });
});

describe("address and port errors", () => {
  it("rejects a host name in an endpoint string", () => {
    expectIssue(
      lines("clusters:", '  - {name: a, endpoints: ["localhost:8080"]}'),
      2,
      '"localhost',
      "clusters[0].endpoints[0]",
      /"localhost" is not an IPv4 or IPv6 address/,
    );
  });

  it("rejects a bad IP in an endpoint object, at its address", () => {
    expectIssue(
      lines("clusters:", "  - name: a", "    endpoints:", "      - {address: 300.1.1.1, port: 80}"),
      4,
      "300",
      "clusters[0].endpoints[0].address",
      /"300.1.1.1" is not an IPv4 or IPv6 address/,
    );
  });

  it("rejects a bare IPv6 endpoint string", () => {
    expectIssue(lines("clusters:", '  - {name: a, endpoints: ["::1"]}'), 2, '"::1"', "clusters[0].endpoints[0]", /has no port/);
  });

  it("rejects a port out of range in an endpoint string", () => {
    expectIssue(
      lines("clusters:", '  - {name: a, endpoints: ["127.0.0.1:65536"]}'),
      2,
      '"127',
      "clusters[0].endpoints[0]",
      /port "65536" must be a number from 1 to 65535/,
    );
  });

  it("rejects port 0 in an endpoint object", () => {
    expectIssue(
      lines("clusters:", "  - {name: a, endpoints: [{address: 127.0.0.1, port: 0}]}"),
      2,
      "0}",
      "clusters[0].endpoints[0].port",
      /must be a port number from 1 to 65535/,
    );
  });

  it("rejects a listener port out of range", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, port: 70000, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      3,
      "70000",
      "listeners[0].port",
      /must be a port number from 1 to 65535/,
    );
  });

  it("rejects a host name as listener address", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, address: localhost, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      3,
      "localhost",
      "listeners[0].address",
      /listeners bind to an IP address/,
    );
  });

  it("rejects an endpoint listed twice", () => {
    expectIssue(
      lines("clusters:", '  - {name: a, endpoints: ["127.0.0.1:80", {address: 127.0.0.1, port: 80}]}'),
      2,
      "{address",
      "clusters[0].endpoints[1]",
      /listed twice \(also at clusters\[0\]\.endpoints\[0\], line 2\)/,
    );
  });

  it("rejects a gap in priorities", () => {
    expectIssue(
      lines("clusters:", "  - name: a", "    endpoints:", '      - "10.0.0.1:80"', "      - {address: 10.0.0.2, port: 80, priority: 2}"),
      5,
      "2}",
      "clusters[0].endpoints[1].priority",
      /priority 2 is used but priority 1 has no endpoints/,
    );
  });

  it("rejects endpoint weights that add up to more than a locality may weigh (a uint32), in that locality only", () => {
    // Each weight is in range; together they would overflow the locality's load_balancing_weight.
    const text = lines(
      "clusters:",
      "  - name: a",
      "    endpoints:",
      "      - {address: 10.0.0.1, port: 80, weight: 4294967295}",
      "      - {address: 10.0.0.2, port: 80, weight: 4294967295, locality: {zone: b}}",
      '      - "10.0.0.3:80"',
    );
    expectIssue(text, 6, '"10.0.0.3:80"', "clusters[0].endpoints[2]", /weigh 4294967296 together with this one, over 4294967295/);
  });

  it("rejects two listeners on the same port", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        `  - ${listenerTo("c")}`,
        '  - {name: l2, address: 127.0.0.1, port: 10000, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      4,
      "10000",
      "listeners[1].port",
      /port 10000 on 127.0.0.1 clashes with listener "l" on 0.0.0.0:10000 \(listeners\[0\], line 3\)/,
    );
  });

  it("allows the same port on two different specific addresses", () => {
    const text = lines(
      "clusters: [{name: c, endpoints: []}]",
      "listeners:",
      '  - {name: a, address: 127.0.0.1, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      '  - {name: b, address: 127.0.0.2, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
    );
    assert.throws(() => issuesOf(text), /expected parseConfig to throw/);
  });
});

describe("duplicate names", () => {
  it("rejects two clusters with the same name, once", () => {
    expectIssue(
      lines("clusters:", "  - {name: a, endpoints: []}", "  - {name: a, endpoints: []}"),
      3,
      "a,",
      "clusters[1].name",
      /duplicate Cluster name "a": already defined by clusters\[0\], line 2/,
    );
  });

  it("rejects two listeners with the same name", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, port: 1, route_config_name: r1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
        '  - {name: l, port: 2, route_config_name: r2, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      4,
      "l,",
      "listeners[1].name",
      /duplicate Listener name "l"/,
    );
  });

  it("rejects two route configurations with the same name", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: a, port: 1, route_config_name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
        '  - {name: b, port: 2, route_config_name: r, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      4,
      "r,",
      "listeners[1].route_config_name",
      /duplicate RouteConfiguration name "r"/,
    );
  });

  it("rejects two raw resources of the same type and name, at the second one's name", () => {
    expectIssue(
      lines(
        "resources:",
        '  - {"@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment, cluster_name: x}',
        '  - {"@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment, clusterName: x}',
      ),
      3,
      "x}",
      "resources[1].clusterName",
      /duplicate ClusterLoadAssignment name "x": already defined by resources\[0\], line 2/,
    );
  });

  it("rejects a raw Cluster named like a short-form cluster", () => {
    expectIssue(
      lines("clusters: [{name: a, endpoints: []}]", "resources:", '  - {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: a, type: STATIC}'),
      3,
      "a,",
      "resources[0].name",
      /duplicate Cluster name "a": already defined by clusters\[0\], line 1/,
    );
  });

  it("allows the same name for resources of different types", () => {
    const text = lines(
      "resources:",
      '  - {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret, name: x}',
      '  - {"@type": type.googleapis.com/envoy.service.runtime.v3.Runtime, name: x}',
    );
    assert.throws(() => issuesOf(text), /expected parseConfig to throw/);
  });

  it("rejects a domain served twice by one route configuration", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        '  - {name: l, port: 1, virtual_hosts: [{name: a, domains: ["x.io"], routes: [{prefix: /, cluster: c}]}, {name: b, domains: ["X.io"], routes: [{prefix: /, cluster: c}]}]}',
      ),
      3,
      '"X.io"',
      "listeners[0].virtual_hosts[1].domains[0]",
      /domain "X.io" is already served by listeners\[0\]\.virtual_hosts\[0\]/,
    );
  });
});

describe("references", () => {
  it("rejects a route to an undefined cluster", () => {
    expectIssue(
      lines("listeners:", `  - ${listenerTo("nope")}`),
      2,
      "nope",
      "listeners[0].virtual_hosts[0].routes[0].cluster",
      /route to undefined cluster "nope"/,
    );
  });

  it("rejects a weighted route to an undefined cluster", () => {
    expectIssue(
      lines(
        "clusters: [{name: a, endpoints: []}]",
        "listeners:",
        '  - {name: l, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, weighted_clusters: [{name: a, weight: 1}, {name: b, weight: 1}]}]}]}',
      ),
      3,
      "b,",
      "listeners[0].virtual_hosts[0].routes[0].weighted_clusters[1].name",
      /route to undefined cluster "b"/,
    );
  });

  it("accepts a route to a raw Cluster", () => {
    const text = lines(
      "resources:",
      '  - {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: raw, type: STATIC}',
      "listeners:",
      `  - ${listenerTo("raw")}`,
    );
    assert.throws(() => issuesOf(text), /expected parseConfig to throw/);
  });

  it("rejects a raw RouteConfiguration routing to an undefined cluster", () => {
    expectIssue(
      lines(
        "resources:",
        '  - "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
        "    name: r",
        "    virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, route: {cluster: ghost}}]}]",
      ),
      4,
      "ghost",
      "resources[0].virtual_hosts[0].routes[0].route.cluster",
      /route to undefined cluster "ghost"/,
    );
  });

  it("rejects a raw Listener whose RDS route configuration is missing, naming it", () => {
    const text = lines(
      "resources:",
      '  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener',
      "    name: ingress",
      "    address: {socket_address: {address: 0.0.0.0, port_value: 8080}}",
      "    filter_chains:",
      "      - filters:",
      "          - name: envoy.filters.network.http_connection_manager",
      "            typed_config:",
      '              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      "              stat_prefix: ingress",
      "              rds: {route_config_name: missing_routes, config_source: {ads: {}, resource_api_version: V3}}",
      '              http_filters: [{name: router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]',
    );
    expectIssue(
      text,
      11,
      "missing_routes",
      "resources[0].filter_chains[0].filters[0].typed_config.rds.route_config_name",
      /Listener "ingress" gets RouteConfiguration "missing_routes" over RDS, but no RouteConfiguration "missing_routes" is defined/,
    );
  });

  it("rejects a raw EDS Cluster whose ClusterLoadAssignment is missing, naming it", () => {
    expectIssue(
      lines(
        "resources:",
        '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
        "    name: backend",
        "    type: EDS",
        "    eds_cluster_config: {eds_config: {ads: {}}, service_name: backend_v2}",
      ),
      5,
      "backend_v2",
      "resources[0].eds_cluster_config.service_name",
      /Cluster "backend" gets ClusterLoadAssignment "backend_v2" over EDS, but no ClusterLoadAssignment "backend_v2" is defined/,
    );
  });

  it("rejects a grpc listener whose virtual hosts don't match its name", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, endpoints: []}]",
        "listeners:",
        "  - name: echo.test:50051",
        "    grpc: true",
        '    virtual_hosts: [{name: v, domains: ["other.test"], routes: [{prefix: "", cluster: c}]}]',
      ),
      5,
      "[{",
      "listeners[0].virtual_hosts",
      /no virtual host has a domain matching "echo.test:50051"/,
    );
  });

  it("rejects a grpc listener routing to a cluster whose lb_policy gRPC rejects", () => {
    expectIssue(
      lines(
        "clusters: [{name: c, lb_policy: LEAST_REQUEST, endpoints: []}]",
        "listeners:",
        "  - name: echo:1",
        "    grpc: true",
        '    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: "", cluster: c}]}]',
      ),
      1,
      "LEAST",
      "clusters[0].lb_policy",
      /gRPC clients reject lb_policy LEAST_REQUEST/,
    );
  });

  it("rejects a bad regex and zero total weight", () => {
    const text = lines(
      "clusters: [{name: c, endpoints: []}]",
      "listeners:",
      "  - name: l",
      "    port: 1",
      '    virtual_hosts: [{name: v, domains: ["*"], routes: [{regex: "(", cluster: c}, {prefix: /, weighted_clusters: [{name: c, weight: 0}]}]}]',
    );
    const issues = issuesOf(text);
    assert.deepEqual(
      issues.map((i) => [i.location.line, i.location.column, i.location.path]),
      [
        [5, columnOf(text, 5, '"("'), "listeners[0].virtual_hosts[0].routes[0].regex"],
        [5, columnOf(text, 5, "[{name: c"), "listeners[0].virtual_hosts[0].routes[1].weighted_clusters"],
      ],
    );
    assert.match(issues[0].message, /invalid regular expression "\(": /);
    assert.match(issues[1].message, /add up to 0/);
  });
});

describe("raw resource errors", () => {
  it("rejects an unknown @type, at the type URL", () => {
    expectIssue(
      lines("resources:", '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Clustr', "    name: x"),
      2,
      "type.googleapis",
      'resources[0]["@type"]',
      /unknown resource type "type.googleapis.com\/envoy.config.cluster.v3.Clustr" \(did you mean "type.googleapis.com\/envoy.config.cluster.v3.Cluster"\?\)/,
    );
  });

  it("rejects an Envoy message that is not a resource type", () => {
    expectIssue(
      lines("resources:", '  - {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}'),
      2,
      "type.googleapis",
      'resources[0]["@type"]',
      /is an Envoy message but not an xDS resource type \(expected one of: Cluster, ClusterLoadAssignment, Listener, RouteConfiguration/,
    );
  });

  it("rejects v2 types", () => {
    expectIssue(
      lines("resources:", '  - {"@type": type.googleapis.com/envoy.api.v2.Cluster, name: x}'),
      2,
      "type.googleapis",
      'resources[0]["@type"]',
      /Envoy v2 type/,
    );
  });

  it("reports an unknown field with protobuf-es's message, at the field", () => {
    expectIssue(
      lines("resources:", '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster', "    name: x", "    type: STATIC", "    conect_timeout: 1s"),
      5,
      "conect_timeout",
      "resources[0].conect_timeout",
      /cannot decode message envoy.config.cluster.v3.Cluster from JSON: key "conect_timeout" is unknown/,
    );
  });

  it("reports a bad enum value, at the value", () => {
    expectIssue(
      lines("resources:", '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster', "    name: x", "    type: EDSS"),
      4,
      "EDSS",
      "resources[0].type",
      /cannot decode enum envoy.config.cluster.v3.Cluster.DiscoveryType from JSON: "EDSS"/,
    );
  });

  it("reports a bad field deep inside an Any, at that field", () => {
    const text = lines(
      "resources:",
      '  - "@type": type.googleapis.com/envoy.config.listener.v3.Listener',
      "    name: l",
      "    filter_chains:",
      "      - filters:",
      "          - name: hcm",
      "            typed_config:",
      '              "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      "              stat_prefix: l",
      "              route_config: {name: r}",
      "              http_filters:",
      "                - name: router",
      '                  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router, dynamic_stats: maybe}',
    );
    expectIssue(
      text,
      13,
      "maybe",
      "resources[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.dynamic_stats",
      /cannot decode field google.protobuf.BoolValue.value from JSON: expected boolean, got "maybe"/,
    );
  });

  it("reports an Any whose @type is not in the registry, at that @type", () => {
    const text = lines(
      "resources:",
      '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
      "    name: x",
      "    typed_extension_protocol_options:",
      '      opts: {"@type": type.googleapis.com/no.such.Options}',
    );
    expectIssue(text, 5, "type.googleapis", 'resources[0].typed_extension_protocol_options.opts["@type"]', /no.such.Options is not in the type registry/);
  });

  it("reports a oneof set twice, at the resource", () => {
    expectIssue(
      lines(
        "resources:",
        '  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
        "    name: x",
        "    type: STATIC",
        "    cluster_type: {name: envoy.clusters.aggregate}",
      ),
      2,
      '"@type"',
      "resources[0]",
      /oneof set multiple times/,
    );
  });

  it("rejects a raw resource without a name", () => {
    expectIssue(
      lines("resources:", '  - {"@type": type.googleapis.com/envoy.config.listener.v3.Listener}'),
      2,
      "{",
      "resources[0]",
      /this Listener has no name/,
    );
  });
});

describe("collecting issues", () => {
  it("throws one ConfigError with every issue, sorted by position", () => {
    const text = lines(
      "clusters:", // 1
      "  - name: a",
      '    endpoints: ["localhost:80"]',
      "    timeout: 1s",
      "  - {name: a, endpoints: []}", // 5
      "listeners:",
      `  - ${listenerTo("nope")}`,
      '  - {name: l2, port: 10000, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: a}]}]}',
      "resources:",
      '  - {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: b, type: EDS}', // 10
      '  - {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: c, lb_policy: FASTEST}',
      '  - {"@type": type.googleapis.com/foo.Bar}',
      "nodes:",
      '  n/1: {clusters: [{name: z, endpoints: ["1.2.3.4:0"]}]}',
    );
    const issues = issuesOf(text);
    assert.deepEqual(
      issues.map((i) => [i.location.line, i.location.column, i.location.path]),
      [
        [3, columnOf(text, 3, '"localhost'), "clusters[0].endpoints[0]"],
        [4, columnOf(text, 4, "timeout"), "clusters[0].timeout"],
        [5, columnOf(text, 5, "a,"), "clusters[1].name"],
        [7, columnOf(text, 7, "nope"), "listeners[0].virtual_hosts[0].routes[0].cluster"],
        [8, columnOf(text, 8, "10000"), "listeners[1].port"],
        [10, columnOf(text, 10, "b,"), "resources[0].name"],
        [11, columnOf(text, 11, "FASTEST"), "resources[1].lb_policy"],
        [12, columnOf(text, 12, "type.googleapis"), 'resources[2]["@type"]'],
        [14, columnOf(text, 14, '"1.2'), 'nodes["n/1"].clusters[0].endpoints[0]'],
      ],
    );
    for (const issue of issues) assert.equal(issue.location.file, "test.yaml");
  });

  it("formats all issues into the error message", () => {
    const text = lines("clusters:", "  - {name: a, endpoints: []}", "  - {name: a, endpoints: [], http2: 1}");
    try {
      parseConfig(text, "f.yaml");
      assert.fail("must throw");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.issues.length, 2);
      assert.equal(
        e.message,
        [
          "invalid config (2 errors):",
          '  f.yaml:3:12 (clusters[1].name): duplicate Cluster name "a": already defined by clusters[0], line 2',
          "  f.yaml:3:37 (clusters[1].http2): must be true or false, not the number 1",
        ].join("\n"),
      );
    }
  });

  it("reports a missing file as a ConfigError", () => {
    assert.throws(
      () => loadConfigFile("/nonexistent/xdsd.yaml"),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.issues, [{ location: { file: "/nonexistent/xdsd.yaml" }, message: "cannot read config file: no such file" }]);
        return true;
      },
    );
  });
});
