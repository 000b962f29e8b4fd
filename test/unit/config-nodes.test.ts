// Node groups: a node whose hash is a key under `nodes` gets that group's config and nothing from the top level.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../src/config/index.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { columnOf, issuesOf, lines } from "./config-helpers.js";

const text = lines(
  "clusters:", // 1
  '  - {name: shared, endpoints: ["127.0.0.1:8081"]}',
  "listeners:",
  '  - {name: main, port: 10000, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: shared}]}]}',
  "nodes:", // 5
  '  "cluster.local/node0":',
  "    clusters:",
  '      - {name: canary, endpoints: ["127.0.0.1:9001"]}',
  "    listeners:",
  '      - {name: main, port: 10000, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: canary}]}]}', // 10
  "    resources:",
  '      - {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret, name: s, generic_secret: {secret: {inline_string: x}}}',
  '  "cluster.local/empty": {}',
);

describe("node groups", () => {
  const config = parseConfig(text, "nodes.yaml");

  it("keeps the top level as the defaults", () => {
    assert.deepEqual(
      config.defaults.map((r) => [r.typeUrl, r.name]),
      [
        [TypeUrl.Cluster, "shared"],
        [TypeUrl.ClusterLoadAssignment, "shared"],
        [TypeUrl.Listener, "main"],
        [TypeUrl.RouteConfiguration, "main"],
      ],
    );
  });

  it("gives each group only its own resources, names and ports checked per group", () => {
    assert.deepEqual([...config.nodes.keys()], ["cluster.local/node0", "cluster.local/empty"]);
    assert.deepEqual(
      config.nodes.get("cluster.local/node0")!.map((r) => [r.typeUrl, r.name]),
      [
        [TypeUrl.Cluster, "canary"],
        [TypeUrl.ClusterLoadAssignment, "canary"],
        [TypeUrl.Listener, "main"],
        [TypeUrl.RouteConfiguration, "main"],
        [TypeUrl.Secret, "s"],
      ],
    );
    assert.deepEqual(config.nodes.get("cluster.local/empty"), []);
  });

  it("locates group resources with the group key in the path", () => {
    const [canary] = config.nodes.get("cluster.local/node0")!;
    assert.deepEqual(canary.location, { file: "nodes.yaml", line: 8, column: 9, path: 'nodes["cluster.local/node0"].clusters[0]' });
  });

  it("does not let a group route to a top-level cluster", () => {
    const text = lines(
      'clusters: [{name: shared, endpoints: ["127.0.0.1:8081"]}]',
      "nodes:",
      "  c/n:",
      '    listeners: [{name: l, port: 1, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: shared}]}]}]',
    );
    const issues = issuesOf(text);
    assert.deepEqual(
      issues.map((i) => [i.location.line, i.location.column, i.location.path]),
      [[4, columnOf(text, 4, "shared"), 'nodes["c/n"].listeners[0].virtual_hosts[0].routes[0].cluster']],
    );
    assert.match(issues[0].message, /undefined cluster "shared"/);
  });

  it("checks keys inside groups like the top level", () => {
    const issues = issuesOf(lines("nodes:", "  c/n:", "    cluster: []"));
    assert.deepEqual(issues[0].location, { file: "test.yaml", line: 3, column: 5, path: 'nodes["c/n"].cluster' });
    assert.match(issues[0].message, /unknown key "cluster" \(did you mean "clusters"\?\)/);
  });
});
