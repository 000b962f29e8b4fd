// gRPC C-core (Python grpcio) reports its load to xdsd: a cluster with `load_reporting: true` (lrs_server: self)
// makes the client open an LRS stream to xdsd and report its RPCs there, as grpc-js-xds does
// (grpc-xds-lrs-csds.test.ts). GET /loads counts exactly the calls made — the failed ones as errors — per locality,
// and GET /nodes lists the client's LRS stream beside its ADS stream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { echoConfigText, startEcho, startFailing, type EchoServer } from "../support/grpc-echo.js";
import { grpcBootstrapFile, startGrpcioClient, type GrpcioPeer } from "../support/grpcio.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";
import type { LoadsView } from "../../src/server/load-reports.js";
import type { NodeStatusPage } from "../../src/server/node-status-json.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("grpcio (gRPC C-core): its load reports (LRS), summed exactly in GET /loads", { timeout: 60_000 }, () => {
  let xdsd: XdsdHandle;
  let client: GrpcioPeer;
  let echo: EchoServer;
  let failing: { port: number; stop(): void };

  before(async () => {
    echo = await startEcho("echo-a");
    failing = await startFailing();
    xdsd = await startXdsd(echoConfigText({ ports: [echo.port, failing.port], zones: ["a", "b"], loadReporting: true }), { args: ["--lrs-interval", "1"] });
    const bootstrap = await grpcBootstrapFile(xdsd, "grpcio-lrs-1", "grpcio-test");
    client = startGrpcioClient("xds:///echo.test:50051", bootstrap);
  });

  after(async () => {
    await client?.close();
    echo?.stop();
    failing?.stop();
    await xdsd?.stop();
  });

  it("counts 60 calls exactly, the failed ones as errors, per locality; the LRS stream is listed with the node's", async () => {
    // Until both backends are connected, round robin picks the one that is: call until both have answered.
    const deadline = Date.now() + 15_000;
    let warm = await client.calls(10);
    while (!(Object.keys(warm.counts).length > 0 && warm.failures.length > 0)) {
      assert.ok(Date.now() < deadline, `both backends not used within 15 s: ${JSON.stringify(warm)}\n${client.stderr()}`);
      warm = await client.calls(10);
    }
    // What was reported so far is the warm-up's: wait until it is counted, then count 60 more from there.
    const settled = async (issued: number) => {
      const until = Date.now() + 15_000;
      for (;;) {
        const loads = (await xdsd.admin<LoadsView>("/loads")).json.clusters.find((c) => c.cluster === "echo_cluster");
        if (loads && loads.requests.issued >= issued && loads.requests.in_progress === 0) return loads;
        assert.ok(Date.now() < until, `not every call reported within 15 s: ${JSON.stringify(loads)}\n${client.stderr()}`);
        await sleep(200);
      }
    };
    const before = await settled(1);
    const t = await client.calls(60);
    assert.equal(t.calls, 60);
    // Counts are the answers by server; every other call failed (the peer lists only the first 20 failures).
    const succeeded = t.counts["echo-a"] ?? 0;
    const errored = t.calls - succeeded;
    assert.ok(
      t.failures.every((f) => f.startsWith("FAILED_PRECONDITION")),
      JSON.stringify(t.failures),
    );
    assert.ok(succeeded > 0 && errored > 0, `both backends were used: ${JSON.stringify(t)}`);
    const after = await settled(before.requests.issued + 60);
    assert.deepEqual(
      {
        issued: after.requests.issued - before.requests.issued,
        succeeded: after.requests.succeeded - before.requests.succeeded,
        errored: after.requests.errored - before.requests.errored,
        in_progress: after.requests.in_progress,
      },
      { issued: 60, succeeded, errored, in_progress: 0 },
    );
    const zone = (z: string) => after.localities.find((l) => l.zone === z);
    assert.deepEqual([zone("a")?.errored, zone("b")?.succeeded], [0, 0], "zone a (echo-a) never failed, zone b (failing) never succeeded");

    const nodes = (await xdsd.admin<NodeStatusPage>("/nodes")).json.nodes;
    const node = nodes.find((n) => n.node === "grpcio-test/grpcio-lrs-1");
    assert.deepEqual(node?.services, { ads: 1, "lrs-loads": 1 }, JSON.stringify(nodes));
  });
});
