// The store's objects merged into the file's document (store-overlay.ts): they are served with the file's entries,
// each endpoint object joins its cluster wherever that is defined, and every problem inside a store object is
// located by the object and its field path rather than by a line of the file.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import type { ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { OverlayObject } from "../../src/merge/store-overlay.js";
import { withStoreObjects } from "../../src/merge/merged-load.js";
import { lines } from "./config-helpers.js";

const file = lines(
  'clusters: [{name: web, endpoints: ["127.0.0.1:80"]}]',
  "listeners: [{name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: api}]}]}]",
);
const api: OverlayObject = { kind: "cluster", name: "api", value: { endpoints: ["127.0.0.1:81"] } };

const issuesOf = (overlay: OverlayObject[]) => {
  try {
    parseConfig(file, "f.yaml", {}, { layer: withStoreObjects(overlay) });
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.issues.map((i) => [i.location.file, i.location.path, i.message]);
  }
  return [];
};

test("store clusters are served beside the file's, and a route of the file may name one", () => {
  const config = parseConfig(file, "f.yaml", {}, { layer: withStoreObjects([api]) });
  const clusters = config.defaults.filter((r) => r.typeUrl === TypeUrl.Cluster);
  assert.deepEqual(
    clusters.map((r) => [r.name, r.location.file]),
    [
      ["web", "f.yaml"],
      ["api", "store"],
    ],
  );
});

test("an endpoint object joins the endpoints of its cluster, the file's too, with its health status", () => {
  const config = parseConfig(
    file,
    "f.yaml",
    {},
    {
      layer: withStoreObjects([api, { kind: "endpoint", name: "web/127.0.0.1:82", value: { address: "127.0.0.1", port: 82, health_status: "DRAINING" } }]),
    },
  );
  const cla = config.defaults.find((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment && r.name === "web")!.message as ClusterLoadAssignment;
  const hosts = cla.endpoints.flatMap((l) => l.lbEndpoints);
  assert.equal(hosts.length, 2);
  assert.equal(hosts[1].healthStatus, 3 /* DRAINING */);
});

test("problems inside store objects are located by the object and its field path; the file's by line", () => {
  assert.deepEqual(issuesOf([{ ...api, value: { endpoints: ["127.0.0.1:0x"] } }]), [
    ["store", "clusters.api.endpoints[0]", 'port "0x" must be a number from 1 to 65535'],
  ]);
  assert.deepEqual(issuesOf([api, { kind: "endpoint", name: "web/127.0.0.1:99999", value: { address: "127.0.0.1", port: 99999 } }]), [
    ["store", 'endpoints["web/127.0.0.1:99999"].port', "must be a port number from 1 to 65535"],
  ]);
  assert.deepEqual(issuesOf([api, { kind: "endpoint", name: "nope/127.0.0.1:1", value: { address: "127.0.0.1", port: 1 } }]), [
    ["store", 'endpoints["nope/127.0.0.1:1"]', 'endpoint of cluster "nope", which is not defined'],
  ]);
  // Without the store's cluster, the file's route is what is wrong, at its line.
  const [[where, path, message]] = issuesOf([]);
  assert.deepEqual([where, path], ["f.yaml", "listeners[0].virtual_hosts[0].routes[0].cluster"]);
  assert.match(String(message), /undefined cluster "api"/);
});
