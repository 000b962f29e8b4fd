// gRPC C-core (grpcio) reaching xdsd over mutual TLS with the "tls" channel creds (gRFC A65) that `xdsd bootstrap
// --grpc --tls-ca --tls-cert --tls-key` writes, certificates made by openssl for this run: xds:///NAME resolves and
// RPCs flow, and xdsd names the client by its certificate's SPIFFE ID. A client without a certificate gets nothing.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TestCa } from "../support/certs.js";
import { echoConfigText, startEcho, type EchoServer } from "../support/grpc-echo.js";
import { grpcBootstrapFile, startGrpcioClient, type GrpcioPeer } from "../support/grpcio.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const ca = new TestCa("grpcio-mtls", mkdtempSync(join(tmpdir(), "xdsd-grpcio-mtls-")));
const xdsdCert = ca.issue("xdsd", { san: ["IP:127.0.0.1"] });
const clientCert = ca.issue("grpcio-client", { san: ["URI:spiffe://acme.test/grpc/client-1"] });

interface NodesView {
  nodes: { node: string; identity?: string; types: Record<string, { ackedVersion?: string }> }[];
}

describe("gRPC C-core (grpcio) over mutual TLS to xdsd: tls channel creds (gRFC A65)", { timeout: 60_000 }, () => {
  let xdsd: XdsdHandle;
  let echo: EchoServer;
  const clients: GrpcioPeer[] = [];

  before(async () => {
    echo = await startEcho("echo-tls");
    xdsd = await startXdsd(echoConfigText({ ports: [echo.port] }), {
      args: ["--xds-tls-cert", xdsdCert.cert, "--xds-tls-key", xdsdCert.key, "--xds-client-ca", ca.cert],
    });
  });

  after(async () => {
    for (const c of clients) await c.close();
    echo?.stop();
    await xdsd?.stop();
  });

  it("resolves xds:///NAME over mutual TLS, and xdsd knows the client by its certificate", async () => {
    const bootstrap = await grpcBootstrapFile(xdsd, "tls-client-1", "grpc-tls", [
      "--tls-ca",
      ca.cert,
      "--tls-cert",
      clientCert.cert,
      "--tls-key",
      clientCert.key,
    ]);
    const client = startGrpcioClient("xds:///echo.test:50051", bootstrap);
    clients.push(client);
    const deadline = Date.now() + 15_000;
    for (let t = await client.calls(5); t.counts["echo-tls"] !== 5; t = await client.calls(5)) {
      assert.ok(Date.now() < deadline, `no answer over TLS within 15 s: ${JSON.stringify(t)}\n${client.stderr()}`);
    }
    const node = (await xdsd.admin<NodesView>("/nodes")).json.nodes.find((n) => n.node === "grpc-tls/tls-client-1");
    assert.equal(node?.identity, "spiffe://acme.test/grpc/client-1");
    for (const t of ["lds", "rds", "cds", "eds"]) assert.ok(node!.types[t]?.ackedVersion, `${t} ACKed`);
  });

  it("gets nothing without a client certificate: xdsd requires one", async () => {
    const bootstrap = await grpcBootstrapFile(xdsd, "tls-client-2", "grpc-tls", ["--tls-ca", ca.cert]);
    const client = startGrpcioClient("xds:///echo.test:50051", bootstrap);
    clients.push(client);
    const t = await client.calls(3);
    assert.equal(t.counts["echo-tls"], undefined, `answered without a client certificate: ${JSON.stringify(t)}`);
    assert.equal(t.failures.length, 3);
    assert.match(t.failures[0], /^UNAVAILABLE/);
    const nodes = (await xdsd.admin<NodesView>("/nodes")).json.nodes;
    assert.equal(
      nodes.find((n) => n.node === "grpc-tls/tls-client-2"),
      undefined,
      "xdsd never served that client",
    );
  });
});
