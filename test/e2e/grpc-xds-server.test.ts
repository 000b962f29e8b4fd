// xDS-enabled gRPC servers (gRFC A36) served from the config's grpc_servers: a gRPC C-core server (Python grpcio,
// test/grpcio/xds_peer.py, `grpc.server(xds=True)`) bound to 127.0.0.1:PORT asks xdsd for the Listener
// "grpc/server?xds.resource.listening_address=127.0.0.1:PORT" (the template `xdsd bootstrap --grpc` wrote), then its
// RouteConfiguration, and serves RPCs only once both came and were accepted. A plain grpc-js client calls it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { grpcServerListenerName } from "../../src/config/model.js";
import { echoMethod, identity } from "../support/grpc-echo.js";
import { grpcBootstrapFile, startGrpcioServer } from "../support/grpcio.js";
import { freePort } from "../support/ports.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const serverNode = "grpc-servers/grpc-server-1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface NodesView {
  nodes: { node: string; types: Record<string, { ackedVersion?: string; subscribed?: string[]; nacks: number; lastNack?: { message: string } }> }[];
}

/** The servers' own node group: every node of a group gets every listener, and an Envoy would try to bind these. */
function configText(ports: number[]): string {
  return `nodes:
  ${serverNode}:
    grpc_servers: [${ports.map((p) => `{address: 127.0.0.1, port: ${p}}`).join(", ")}]
`;
}

/** One call to 127.0.0.1:port: the server's answer, or the gRPC error's code name. */
function callOnce(port: number): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<string>((resolve) =>
    client.makeUnaryRequest(echoMethod, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 2000 }, (err, res) => {
      client.close();
      resolve(err ? `error ${grpc.status[err.code]}` : res!.toString());
    }),
  );
}

describe("xDS-enabled gRPC server (gRFC A36, gRPC C-core) serving through xdsd's listener", { timeout: 60_000 }, () => {
  let xdsd: XdsdHandle;
  let bootstrap: string;
  const servers: { close(): Promise<void>; stderr(): string }[] = [];
  let served: number;
  let unserved: number;

  before(async () => {
    served = await freePort();
    unserved = await freePort();
    // Requests logged (debug, stream): which listener each server asks for.
    xdsd = await startXdsd(configText([served]), { env: { XDSD_DEBUG: "stream" } });
    bootstrap = await grpcBootstrapFile(xdsd, "grpc-server-1", "grpc-servers");
  });

  after(async () => {
    for (const s of servers) await s.close();
    await xdsd?.stop();
  });

  it("fetches its listener from xdsd and serves RPCs", async () => {
    servers.push(await startGrpcioServer(`127.0.0.1:${served}`, "xds-server-a", bootstrap));
    const deadline = Date.now() + 10_000;
    for (let answer = await callOnce(served); answer !== "xds-server-a"; answer = await callOnce(served)) {
      assert.ok(Date.now() < deadline, `the server did not serve within 10 s (last: ${answer}); its log:\n${servers[0].stderr()}`);
      await sleep(100);
    }
    assert.ok(xdsd.log().includes(JSON.stringify(grpcServerListenerName("127.0.0.1", served))), "the server asked for the listener of its address");
    const node = (await xdsd.admin<NodesView>("/nodes")).json.nodes.find((n) => n.node === serverNode);
    assert.ok(node, "the server's xDS client is a node of xdsd");
    assert.ok(node.types.lds?.ackedVersion, "the server ACKed its listener");
    assert.ok(node.types.rds?.ackedVersion, "the server ACKed its route configuration");
    assert.equal(node.types.lds.nacks, 0);
  });

  it("does not serve a port xdsd has no listener for, and starts when the listener appears", async () => {
    const mark = xdsd.log().length;
    servers.push(await startGrpcioServer(`127.0.0.1:${unserved}`, "xds-server-b", bootstrap));
    // The server asked for grpc/server?…=127.0.0.1:<unserved>, which xdsd does not have: it does not serve.
    const asked = JSON.stringify(grpcServerListenerName("127.0.0.1", unserved));
    for (const deadline = Date.now() + 5000; !xdsd.log().slice(mark).includes(asked); await sleep(50)) {
      assert.ok(Date.now() < deadline, `the server did not ask for ${asked} within 5 s`);
    }
    await sleep(500);
    assert.match(await callOnce(unserved), /^error (UNAVAILABLE|DEADLINE_EXCEEDED)$/);
    xdsd.writeConfig(configText([served, unserved]));
    const until = Date.now() + 10_000;
    for (let answer = await callOnce(unserved); answer !== "xds-server-b"; answer = await callOnce(unserved)) {
      assert.ok(Date.now() < until, `the server did not start serving within 10 s of its listener (last: ${answer})`);
      await sleep(100);
    }
    assert.equal(await callOnce(served), "xds-server-a", "the first server still serves");
  });
});
