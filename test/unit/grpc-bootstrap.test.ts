// gRPC xDS bootstraps (xdsd bootstrap --grpc): the JSON gRFC A27 defines, A65's "tls" channel creds, and the
// checks that refuse what no gRPC client could use.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../src/config/index.js";
import { grpcServerListenerNameTemplate } from "../../src/config/model.js";
import { parseLocality, renderGrpcBootstrap } from "../../src/bootstrap/grpc-bootstrap.js";
import { BadArgumentError } from "../../src/errors.js";

const base = { nodeId: "client-1", nodeCluster: "grpc", xds: { host: "127.0.0.1", port: 18000 } };
const render = (extra: Partial<Parameters<typeof renderGrpcBootstrap>[0]> = {}) => JSON.parse(renderGrpcBootstrap({ ...base, ...extra }));

describe("xdsd bootstrap --grpc", () => {
  it("writes xds_servers with insecure channel creds, the node with its locality, and the A36 listener template", () => {
    assert.deepEqual(render({ locality: { zone: "z1" } }), {
      xds_servers: [{ server_uri: "127.0.0.1:18000", channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "client-1", cluster: "grpc", locality: { zone: "z1" } },
      server_listener_resource_name_template: grpcServerListenerNameTemplate,
    });
    assert.deepEqual(render().node.locality, {}, "grpc-js-xds requires a locality, an empty one will do");
    assert.equal(render({ xds: { host: "::1", port: 18000 } }).xds_servers[0].server_uri, "[::1]:18000");
  });

  it("lists every replica in xds_servers, in the order given, each with the same creds (issue 20)", () => {
    const servers = render({ xds: [18001, 18002, 18003].map((port) => ({ host: "127.0.0.1", port })), tls: { ca: "/ca.pem" } }).xds_servers;
    assert.deepEqual(
      servers.map((s: { server_uri: string }) => s.server_uri),
      ["127.0.0.1:18001", "127.0.0.1:18002", "127.0.0.1:18003"],
    );
    for (const s of servers) assert.deepEqual(s.channel_creds, [{ type: "tls", config: { ca_certificate_file: "/ca.pem" } }]);
    assert.throws(() => render({ xds: [] }), /bootstrap: xds must name at least one xdsd address/);
  });

  it('writes "tls" channel creds alone (gRFC A65), mutual with a certificate and key', () => {
    assert.deepEqual(render({ tls: { ca: "/ca.pem" } }).xds_servers[0].channel_creds, [{ type: "tls", config: { ca_certificate_file: "/ca.pem" } }]);
    assert.deepEqual(render({ tls: { ca: "/ca.pem", cert: "/c.pem", key: "/k.pem" } }).xds_servers[0].channel_creds, [
      { type: "tls", config: { ca_certificate_file: "/ca.pem", certificate_file: "/c.pem", private_key_file: "/k.pem" } },
    ]);
    assert.throws(() => render({ tls: { ca: "/ca.pem", cert: "/c.pem" } }), /--tls-cert and --tls-key go together/);
    assert.throws(() => render({ tls: { ca: "/ca.pem", sni: "xdsd" } }), /--grpc takes no --tls-sni: gRPC checks xdsd's certificate against the host of --xds/);
  });

  it("refuses a node whose group does not fetch over ADS, saying where to write what", () => {
    const config = parseConfig("config_source: grpc\nclusters: []\n", "x.yaml");
    assert.throws(
      () => render({ config }),
      (e: Error) =>
        e instanceof BadArgumentError &&
        /--grpc needs the node's config to say config_source: ads, but the top level of x.yaml has config_source: grpc/.test(e.message),
    );
  });

  it("reads --locality as KEY=VALUE pairs of the config's locality keys", () => {
    assert.deepEqual(parseLocality("zone=us-east-1a,region=us-east-1,sub_zone=rack-7"), { zone: "us-east-1a", region: "us-east-1", sub_zone: "rack-7" });
    assert.throws(() => parseLocality("us-east-1a"), /expected KEY=VALUE pairs separated by commas, each KEY one of region, zone, sub_zone/);
    assert.throws(() => parseLocality("zon=a"), /each KEY one of region, zone, sub_zone/);
    assert.throws(() => parseLocality("zone=a,zone=b"), /zone is given twice/);
  });
});
