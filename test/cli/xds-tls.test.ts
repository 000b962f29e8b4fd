// `xdsd serve --xds-tls-cert --xds-tls-key --xds-client-ca`: the real daemon serves xDS over mutual TLS, watches the
// files (a rotation reaches new connections with a log line; a bad one is refused with the previous credentials kept),
// refuses to start on credentials it cannot use, and says what is wrong with the flags.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import * as grpc from "@grpc/grpc-js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { RawXdsClient } from "../support/xds-client.js";
import { node } from "../support/resources.js";
import { serialOf, servedSerial, TestCa } from "../support/certs.js";
import { runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const scratch = mkdtempSync(join(tmpdir(), "xdsd-cli-tls-"));
const ca = new TestCa("cli", scratch);
const first = ca.issue("xdsd", { san: ["DNS:localhost", "IP:127.0.0.1"] });
const second = ca.issue("xdsd-rotated", { san: ["DNS:localhost", "IP:127.0.0.1"] });
const client = ca.issue("edge", { san: ["URI:spiffe://acme.test/edge/a"] });
const files = { cert: join(scratch, "xds.pem"), key: join(scratch, "xds.key") };
copyFileSync(first.cert, files.cert);
copyFileSync(first.key, files.key);

const config = "clusters: [{name: web, endpoints: ['127.0.0.1:8080']}]\n";
const daemons: XdsdHandle[] = [];
const clients: RawXdsClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  for (const d of daemons) await d.stop();
});

test("serve over mutual TLS: a client with a certificate of the client CA is served; rotations are followed and logged", async () => {
  const xdsd = await startXdsd(config, { args: ["--xds-tls-cert", files.cert, "--xds-tls-key", files.key, "--xds-client-ca", ca.cert] });
  daemons.push(xdsd);
  const c = new RawXdsClient(`localhost:${xdsd.xdsPort}`, undefined, {
    credentials: grpc.credentials.createSsl(readFileSync(ca.cert), readFileSync(client.key), readFileSync(client.cert)),
  });
  clients.push(c);
  c.send({ node: node("cli-tls"), typeUrl: TypeUrl.Cluster });
  const r = await c.next(5000);
  assert.deepEqual(r.resources.length, 1);
  assert.equal(await servedSerial(xdsd.xdsPort, ca, client), serialOf(first.cert));

  const mark = xdsd.log().length;
  copyFileSync(second.cert, files.cert);
  copyFileSync(second.key, files.key);
  await xdsd.waitForLog(/xDS TLS credentials reloaded: new connections get the certificate valid until/, 5000, mark);
  assert.equal(await servedSerial(xdsd.xdsPort, ca, client), serialOf(second.cert));

  const badMark = xdsd.log().length;
  copyFileSync(client.key, files.key);
  await xdsd.waitForLog(
    /xDS TLS credentials not reloaded, the previous ones stay in use: .*xds\.key: the private key does not match the certificate/,
    5000,
    badMark,
  );
  assert.equal(await servedSerial(xdsd.xdsPort, ca, client), serialOf(second.cert));

  // The stream opened before both rotations still answers.
  c.ack(r);
  xdsd.writeConfig("clusters: [{name: web, endpoints: ['127.0.0.1:8080']}, {name: api, endpoints: ['127.0.0.1:8081']}]\n");
  assert.equal((await c.next(5000)).resources.length, 2);
  copyFileSync(second.key, files.key);
});

test("serve refuses to start on credentials it cannot use, naming the file", async () => {
  const r = await runXdsd([
    "serve",
    "--config",
    join(scratch, "none.yaml"),
    "--xds-listen",
    "127.0.0.1:0",
    "--admin-listen",
    "127.0.0.1:0",
    "--xds-tls-cert",
    first.cert,
    "--xds-tls-key",
    client.key,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^xdsd: .*edge-\d+\.key: the private key does not match the certificate in .*xdsd-\d+\.pem$/m);
});

test("the TLS flags go together: a key without a certificate, a client CA without either", async () => {
  const keyOnly = await runXdsd(["serve", "--config", "x.yaml", "--xds-tls-key", first.key]);
  assert.equal(keyOnly.code, 2);
  assert.match(keyOnly.stderr, /--xds-tls-cert and --xds-tls-key go together/);
  const caOnly = await runXdsd(["serve", "--config", "x.yaml", "--xds-client-ca", ca.cert]);
  assert.equal(caOnly.code, 2);
  assert.match(caOnly.stderr, /--xds-client-ca needs --xds-tls-cert and --xds-tls-key/);
  assert.match(caOnly.stderr, /see `xdsd serve --help`/);
});

test("bootstrap --tls-cert-sds writes the SDS file Envoy takes its client certificate through, and points xds_cluster at it", async () => {
  const sds = join(scratch, "envoy-sds.yaml");
  const r = await runXdsd([
    "bootstrap",
    "--mode",
    "ads",
    "--node-id",
    "n",
    "--node-cluster",
    "c",
    "--tls-ca",
    ca.cert,
    "--tls-cert",
    first.cert,
    "--tls-key",
    first.key,
    "--tls-cert-sds",
    sds,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const bootstrap = parse(r.stdout) as { static_resources: { clusters: { name: string; transport_socket: { typed_config: Record<string, unknown> } }[] } };
  const tls = bootstrap.static_resources.clusters.find((c) => c.name === "xds_cluster")!.transport_socket.typed_config as {
    common_tls_context: {
      tls_certificates?: unknown[];
      tls_certificate_sds_secret_configs: { name: string; sds_config: { path_config_source: { path: string } } }[];
    };
  };
  assert.equal(tls.common_tls_context.tls_certificates, undefined, "the certificate is not inline: Envoy would read it once");
  assert.deepEqual(
    tls.common_tls_context.tls_certificate_sds_secret_configs.map((s) => [s.name, s.sds_config.path_config_source.path]),
    [["xds_client_certificate", sds]],
  );
  const secret = (JSON.parse(readFileSync(sds, "utf8")) as { resources: Record<string, unknown>[] }).resources[0];
  assert.deepEqual(secret, {
    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    name: "xds_client_certificate",
    tls_certificate: { certificate_chain: { filename: first.cert }, private_key: { filename: first.key }, watched_directory: { path: dirname(first.cert) } },
  });

  const noCert = await runXdsd(["bootstrap", "--mode", "ads", "--node-id", "n", "--node-cluster", "c", "--tls-ca", ca.cert, "--tls-cert-sds", sds]);
  assert.equal(noCert.code, 2);
  assert.match(noCert.stderr, /--tls-cert-sds needs --tls-cert and --tls-key/);
  const noCa = await runXdsd(["bootstrap", "--mode", "ads", "--node-id", "n", "--node-cluster", "c", "--tls-cert-sds", sds]);
  assert.equal(noCa.code, 2);
  assert.match(noCa.stderr, /--tls-cert-sds is for Envoy bootstraps with --tls-ca, --tls-cert and --tls-key/);
});
