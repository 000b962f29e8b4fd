// Proxyless gRPC: a real @grpc/grpc-js-xds client resolves xds:///echo.test:50051 through xdsd (LDS api_listener
// → RDS → CDS → EDS over ADS) and calls two echo servers. The same scenarios as the grpcio client
// (grpcio-client.test.ts): round robin, a weight change, an endpoint removal under load, a NACK.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import { clusterWithForeignLrs, echoConfigText, echoMethod as method, identity, startEcho, withinTenPercent, type EchoServer } from "../support/grpc-echo.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

interface NodesView {
  nodes: {
    node: string;
    userAgent?: string;
    types: Record<string, { ackedVersion?: string; sentVersion?: string; nacks: number; lastNack?: { message: string } }>;
  }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("proxyless gRPC client (@grpc/grpc-js-xds) through xdsd", { timeout: 60_000 }, () => {
  let xdsd: XdsdHandle;
  let client: grpc.Client;
  const echoes: EchoServer[] = [];

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
  const ports = () => echoes.map((e) => e.port);

  before(async () => {
    echoes.push(await startEcho("echo-a"), await startEcho("echo-b"));
    xdsd = await startXdsd(echoConfigText({ ports: ports() }));
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

  // grpc-js's round_robin, like C-core's, ignores endpoint weights: within a locality, the weight a gRPC client
  // follows is the route's.
  it("follows a weight change to 1:3 (weighted_clusters): 400 RPCs split within ±10 % of 100:300", async (ctx) => {
    xdsd.writeConfig(echoConfigText({ ports: ports(), split: [1, 3] }));
    const deadline = Date.now() + 5000;
    for (let round = await tally(40); (round["echo-b"] ?? 0) < 2 * (round["echo-a"] ?? 0); round = await tally(40)) {
      assert.ok(Date.now() < deadline, `the 1:3 split not seen within 5 s: ${JSON.stringify(round)}`);
    }
    const counts = await tally(400);
    ctx.diagnostic(`400 calls at 1:3: ${JSON.stringify(counts)}`);
    assert.ok(withinTenPercent(counts["echo-b"] ?? 0, 400, 3 / 4), `echo-b answered ${counts["echo-b"]} of 400 calls, expected 300 ± 30`);
  });

  // A locality weighs what its endpoints weigh together (translate.ts), and grpc-js splits between localities by that.
  it("follows endpoint weights 1:3 between localities: 400 RPCs split within ±10 % of 100:300", async (ctx) => {
    xdsd.writeConfig(echoConfigText({ ports: ports(), zoneWeights: [1, 3] }));
    const deadline = Date.now() + 5000;
    for (let round = await tally(40); (round["echo-b"] ?? 0) < 2 * (round["echo-a"] ?? 0); round = await tally(40)) {
      assert.ok(Date.now() < deadline, `the 1:3 split not seen within 5 s: ${JSON.stringify(round)}`);
    }
    const counts = await tally(400);
    ctx.diagnostic(`400 calls at 1:3 by endpoint weight: ${JSON.stringify(counts)}`);
    assert.ok(withinTenPercent(counts["echo-b"] ?? 0, 400, 3 / 4), `echo-b answered ${counts["echo-b"]} of 400 calls, expected 300 ± 30`);
  });

  it("follows an endpoint removal while RPCs run, with no failed RPC", async (ctx) => {
    xdsd.writeConfig(echoConfigText({ ports: ports() }));
    const deadline = Date.now() + 5000;
    for (let round = await tally(10); !(round["echo-a"] === 5 && round["echo-b"] === 5); round = await tally(10)) {
      assert.ok(Date.now() < deadline, `round robin over both not back within 5 s: ${JSON.stringify(round)}`);
    }
    const acked = (await grpcNode())!.types.eds.ackedVersion;
    // Calls one after the other until stopped (at most 20 s, 20,000 calls), while echo-b leaves the config; echo-b
    // still runs, so a call already sent to it completes (a drain).
    const seen: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const loop = (async () => {
      const until = Date.now() + 20_000;
      while (!stop && Date.now() < until && seen.length + failures.length < 20_000) {
        await call().then(
          (who) => seen.push(who),
          (err: Error) => failures.push(err.message),
        );
        await sleep(2);
      }
    })();
    await sleep(300);
    xdsd.writeConfig(echoConfigText({ ports: [echoes[0].port] }));
    while ((await grpcNode())!.types.eds.ackedVersion === acked) {
      assert.ok(Date.now() < deadline + 10_000, "the client did not ACK the endpoints without echo-b");
      await sleep(50);
    }
    await sleep(500);
    stop = true;
    await loop;
    ctx.diagnostic(`${seen.length} calls while echo-b was removed, ${failures.length} failed`);
    assert.deepEqual(failures, [], "no RPC failed while echo-b was removed");
    assert.ok(seen.includes("echo-b"), "echo-b answered before its removal");
    assert.deepEqual(new Set(seen.slice(-20)), new Set(["echo-a"]), "only echo-a answers after the removal");
  });

  it("records grpc-js's NACK of a cluster it cannot use, keeps working, and recovers on the next good config", async () => {
    const mark = xdsd.log().length;
    // The endpoints stay as they are (echo-a only): the CDS update alone is what grpc-js must reject.
    xdsd.writeConfig(echoConfigText({ ports: [], rawCluster: clusterWithForeignLrs(echoes[0].port) }));
    await xdsd.waitForLog(/NACK .*node=grpc-test\/grpc-client-1 type=cds/, 5000, mark);
    const node = await grpcNode();
    assert.equal(node!.types.cds.nacks, 1);
    assert.match(node!.types.cds.lastNack!.message, /lrs_server/i);
    assert.deepEqual(await tally(4), { "echo-a": 4 }, "the last good cluster is still used");
    xdsd.writeConfig(echoConfigText({ ports: ports() }));
    const deadline = Date.now() + 3000;
    while (Object.keys(await tally(4)).length !== 2) assert.ok(Date.now() < deadline, "echo-b never came back");
    assert.equal((await grpcNode())!.types.cds.lastNack, undefined);
  });
});
