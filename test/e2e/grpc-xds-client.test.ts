// Proxyless gRPC: a real @grpc/grpc-js-xds client resolves xds:///echo.test:50051 through xdsd (LDS api_listener
// → RDS → CDS → EDS over ADS) and calls two echo servers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const method = "/xdsd.test.Echo/WhoAreYou";
const identity = (b: Buffer) => b;
const echoService: grpc.ServiceDefinition = {
  WhoAreYou: {
    path: method,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

async function startEcho(name: string): Promise<{ port: number; stop(): void }> {
  const server = new grpc.Server();
  server.addService(echoService, { WhoAreYou: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, stop: () => server.forceShutdown() };
}

/** `rawCluster` replaces the shorthand cluster with Envoy YAML, which reaches the client without xdsd's gRPC checks. */
function configText(ports: number[], rawCluster?: string): string {
  const endpoints = `[${ports.map((p) => `"127.0.0.1:${p}"`).join(", ")}]`;
  return `${rawCluster ? `resources:\n${rawCluster}\n` : `clusters:\n  - name: echo_cluster\n    endpoints: ${endpoints}\n`}listeners:
  - name: echo.test:50051
    grpc: true
    virtual_hosts: [{name: echo, domains: ["*"], routes: [{prefix: "", cluster: echo_cluster}]}]
`;
}

interface NodesView {
  nodes: {
    node: string;
    userAgent?: string;
    types: Record<string, { ackedVersion?: string; sentVersion?: string; nacks: number; lastNack?: { message: string } }>;
  }[];
}

describe("proxyless gRPC client (@grpc/grpc-js-xds) through xdsd", () => {
  let xdsd: XdsdHandle;
  let client: grpc.Client;
  const echoes: { port: number; stop(): void }[] = [];

  const call = () =>
    new Promise<string>((resolve, reject) =>
      client.makeUnaryRequest(method, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, res) =>
        err ? reject(err) : resolve(res!.toString()),
      ),
    );
  const tally = async (n: number) => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const who = await call();
      counts[who] = (counts[who] ?? 0) + 1;
    }
    return counts;
  };
  const grpcNode = async () => (await xdsd.admin<NodesView>("/nodes")).json.nodes.find((n) => n.node === "grpc-test/grpc-client-1");

  before(async () => {
    echoes.push(await startEcho("echo-a"), await startEcho("echo-b"));
    xdsd = await startXdsd(configText(echoes.map((e) => e.port)));
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${xdsd.xdsPort}`, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "grpc-client-1", cluster: "grpc-test", locality: {} },
    });
    grpcXds.register();
    client = new grpc.Client("xds:///echo.test:50051", grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    for (const e of echoes) e.stop();
    await xdsd?.stop();
  });

  it("resolves the target through LDS, RDS, CDS and EDS and round-robins over both endpoints", async () => {
    // While the second subchannel connects, round robin can only pick the first; then it alternates.
    assert.deepEqual(Object.keys(await tally(10)).sort(), ["echo-a", "echo-b"]);
    assert.deepEqual(await tally(10), { "echo-a": 5, "echo-b": 5 });
    const node = await grpcNode();
    assert.match(node?.userAgent ?? "", /gRPC Node/);
    for (const t of ["lds", "rds", "cds", "eds"]) assert.ok(node!.types[t]?.ackedVersion, `${t} ACKed`);
  });

  it("follows an endpoint removal", async () => {
    xdsd.writeConfig(configText([echoes[0].port]));
    const deadline = Date.now() + 2000;
    while (Object.keys(await tally(4)).join() !== "echo-a") {
      assert.ok(Date.now() < deadline, "echo-b still called 2 s after its removal");
    }
    assert.deepEqual(await tally(6), { "echo-a": 6 });
  });

  it("records grpc-js's NACK of a cluster it cannot use, keeps working, and recovers on the next good config", async () => {
    const mark = xdsd.log().length;
    // The endpoints stay as they are (echo-a only): the CDS update alone is what grpc-js must reject.
    const lbEndpoints = `{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${echoes[0].port}}}}}`;
    // grpc-js only reports load to the server it gets its config from: lrs_server must be {self: {}} (gRFC A27).
    const badLrs = `  - {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: echo_cluster, type: EDS, lrs_server: {ads: {}}, eds_cluster_config: {eds_config: {ads: {}, resource_api_version: V3}}}
  - {"@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment, cluster_name: echo_cluster, endpoints: [{locality: {}, load_balancing_weight: 1, lb_endpoints: [${lbEndpoints}]}]}`;
    xdsd.writeConfig(configText([], badLrs));
    await xdsd.waitForLog(/NACK .*node=grpc-test\/grpc-client-1 type=cds/, 5000, mark);
    const node = await grpcNode();
    assert.equal(node!.types.cds.nacks, 1);
    assert.match(node!.types.cds.lastNack!.message, /lrs_server/i);
    assert.deepEqual(await tally(4), { "echo-a": 4 }, "the last good cluster is still used");
    xdsd.writeConfig(configText([echoes[0].port, echoes[1].port]));
    const deadline = Date.now() + 3000;
    while (Object.keys(await tally(4)).length !== 2) assert.ok(Date.now() < deadline, "echo-b never came back");
    assert.equal((await grpcNode())!.types.cds.lastNack, undefined);
  });
});
