// Proxyless gRPC, second client: gRPC C-core through Python grpcio (test/grpcio/xds_peer.py) resolves
// xds:///echo.test:50051 through xdsd, with the bootstrap `xdsd bootstrap --grpc` wrote (GRPC_XDS_BOOTSTRAP), and
// calls two grpc-js echo servers. Independent of grpc-js-xds: its own xDS client, parser and load balancers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clusterWithForeignLrs, echoConfigText, startEcho, withinTenPercent, type EchoServer } from "../support/grpc-echo.js";
import { grpcBootstrapFile, startGrpcioClient, type GrpcioPeer, type Tally } from "../support/grpcio.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const nodeName = "grpcio-test/grpcio-client-1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface NodesView {
  nodes: {
    node: string;
    userAgent?: string;
    types: Record<string, { ackedVersion?: string; nacks: number; lastNack?: { message: string } }>;
  }[];
}

describe("proxyless gRPC client (gRPC C-core, Python grpcio) through xdsd", { timeout: 60_000 }, () => {
  let xdsd: XdsdHandle;
  let client: GrpcioPeer;
  let a: EchoServer;
  let b: EchoServer;
  const grpcNode = async () => (await xdsd.admin<NodesView>("/nodes")).json.nodes.find((n) => n.node === nodeName);
  /** Calls in rounds of `n` until `done` holds of a round (at most `seconds`); returns that round. */
  const until = async (n: number, done: (t: Tally) => boolean, what: string, seconds = 5): Promise<Tally> => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const t = await client.calls(n);
      if (done(t)) return t;
      assert.ok(Date.now() < deadline, `${what} not seen within ${seconds} s; last round: ${JSON.stringify(t)}\n${client.stderr()}`);
    }
  };

  before(async () => {
    a = await startEcho("echo-a");
    b = await startEcho("echo-b");
    xdsd = await startXdsd(echoConfigText({ ports: [a.port, b.port] }));
    const bootstrap = await grpcBootstrapFile(xdsd, "grpcio-client-1", "grpcio-test", ["--locality", "zone=test-zone"]);
    client = startGrpcioClient("xds:///echo.test:50051", bootstrap);
  });

  after(async () => {
    await client?.close();
    a?.stop();
    b?.stop();
    await xdsd?.stop();
  });

  it("resolves xds:///NAME through LDS, RDS, CDS and EDS and round-robins over both backends", async () => {
    // While the second subchannel connects, round robin can only pick the first; then it alternates.
    await until(10, (t) => t.failures.length === 0 && Object.keys(t.counts).length === 2, "both backends answering", 15);
    const round = await client.calls(20);
    assert.deepEqual(round.failures, []);
    assert.deepEqual(round.counts, { "echo-a": 10, "echo-b": 10 });
    const node = await grpcNode();
    assert.match(node?.userAgent ?? "", /C-core|grpc-python|Python/i);
    for (const t of ["lds", "rds", "cds", "eds"]) assert.ok(node!.types[t]?.ackedVersion, `${t} ACKed`);
  });

  // gRPC's round_robin ignores endpoint weights (load_balancing_weight of an LbEndpoint): it balances between
  // clusters by the route's weighted_clusters, and between localities by their weight (the next test).
  it("follows a weight change to 1:3 (weighted_clusters): 400 RPCs split within ±10 % of 100:300", async (ctx) => {
    xdsd.writeConfig(echoConfigText({ ports: [a.port, b.port], split: [1, 3] }));
    await until(40, (t) => (t.counts["echo-b"] ?? 0) >= 2 * (t.counts["echo-a"] ?? 0), "the 1:3 split");
    const t = await client.calls(400, 20);
    assert.deepEqual(t.failures, []);
    assert.equal(t.calls, 400);
    // Each RPC picks its cluster at random by weight: echo-b's count is 300 ± 8.7 (one standard deviation).
    ctx.diagnostic(`400 calls at 1:3: ${JSON.stringify(t.counts)}`);
    assert.ok(withinTenPercent(t.counts["echo-b"] ?? 0, 400, 3 / 4), `echo-b answered ${t.counts["echo-b"]} of 400 calls, expected 300 ± 30`);
  });

  // Endpoint weights count between localities: a locality weighs what its endpoints weigh together, and gRPC's
  // weighted_target splits by locality weight (a locality of weight 1 each would get an equal share however many
  // endpoints, of whatever weight, it holds).
  it("follows endpoint weights 1:3 between localities: 400 RPCs split within ±10 % of 100:300", async (ctx) => {
    xdsd.writeConfig(echoConfigText({ ports: [a.port, b.port], zoneWeights: [1, 3] }));
    await until(40, (t) => (t.counts["echo-b"] ?? 0) >= 2 * (t.counts["echo-a"] ?? 0), "the 1:3 split");
    const t = await client.calls(400, 20);
    assert.deepEqual(t.failures, []);
    assert.equal(t.calls, 400);
    ctx.diagnostic(`400 calls at 1:3 by endpoint weight: ${JSON.stringify(t.counts)}`);
    assert.ok(withinTenPercent(t.counts["echo-b"] ?? 0, 400, 3 / 4), `echo-b answered ${t.counts["echo-b"]} of 400 calls, expected 300 ± 30`);
  });

  it("follows an endpoint removal while RPCs run, with no failed RPC", async (ctx) => {
    xdsd.writeConfig(echoConfigText({ ports: [a.port, b.port] }));
    await until(10, (t) => t.counts["echo-a"] === 5 && t.counts["echo-b"] === 5, "round robin over both again");
    const acked = (await grpcNode())!.types.eds.ackedVersion;
    await client.start(20);
    await sleep(300);
    // Removed from the config only: echo-b still runs, so a call the client already sent it completes (a drain).
    xdsd.writeConfig(echoConfigText({ ports: [a.port] }));
    const deadline = Date.now() + 5000;
    while ((await grpcNode())!.types.eds.ackedVersion === acked) {
      assert.ok(Date.now() < deadline, "the client did not ACK the endpoints without echo-b within 5 s");
      await sleep(50);
    }
    await sleep(500); // past the last 20 calls of the loop
    const t = await client.stop();
    ctx.diagnostic(`calls while echo-b was removed: ${JSON.stringify(t.counts)}, ${t.failures.length} failed`);
    assert.deepEqual(t.failures, [], "no RPC failed while echo-b was removed");
    assert.ok((t.counts["echo-b"] ?? 0) > 0, "echo-b answered before its removal");
    assert.deepEqual(new Set(t.tail), new Set(["echo-a"]), `only echo-a answers after the removal: ${JSON.stringify(t)}`);
  });

  it("records C-core's NACK of a cluster it cannot use, keeps its last good config, and recovers on the next good one", async (ctx) => {
    const mark = xdsd.log().length;
    // The endpoints stay as they are (echo-a only): the CDS update alone is what C-core must reject.
    xdsd.writeConfig(echoConfigText({ ports: [], rawCluster: clusterWithForeignLrs(a.port) }));
    await xdsd.waitForLog(new RegExp(`NACK .*node=${nodeName} type=cds`), 5000, mark);
    const node = await grpcNode();
    ctx.diagnostic(`C-core's NACK: ${node!.types.cds.lastNack?.message}`);
    assert.equal(node!.types.cds.nacks, 1);
    assert.match(node!.types.cds.lastNack!.message, /lrs_server|self/i);
    const t = await client.calls(20);
    assert.deepEqual(t.failures, []);
    assert.deepEqual(t.counts, { "echo-a": 20 }, "the last good cluster is still used");
    xdsd.writeConfig(echoConfigText({ ports: [a.port, b.port] }));
    await until(10, (r) => Object.keys(r.counts).length === 2, "echo-b back");
    assert.equal((await grpcNode())!.types.cds.lastNack, undefined);
  });
});
