// Secrets over SDS with a real Envoy 1.40, issue 19 item 3, in four modes: state of the world (ADS) and incremental
// (delta ADS) over one stream, one SotW stream per type (`config_source: grpc`), and REST-JSON polling
// (`config_source: rest`): an HTTPS listener whose certificate comes from xdsd (`secrets:` + a listener's `tls`),
// checked by a client that verifies the chain against the test CA; the certificate's files replaced → the client
// sees the new serial within 2 s (3 s polling over REST), the same Envoy, nothing but the Secret sent; an upstream TLS cluster with SNI and CA validation to a Node
// https backend (traffic flows; with another CA it does not); a bad key file keeps the last good secret served. Then
// the private keys' base64 bodies appear in none of /config, /nodes, /metrics, the write API's answers (a raw Secret
// PUT through /v1) or the daemon's logs. Certificates are made here (test/support/certs.ts), never checked in.
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:https";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TestCa, serialOf, servedSerial, type Issued } from "../support/certs.js";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const token = "sds-e2e-token-0123456789abcdef";

/**
 * What must never be shown of a PEM private key file: its base64 body whole, and the part of it that is the private
 * scalar. (Pieces elsewhere are not secret: an EC key's PKCS #8 header is every P-256 key's, and its public key is
 * in the certificate too.)
 */
function keyPieces(file: string): string[] {
  const body = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("-----"))
    .join("");
  // PKCS #8 for P-256 (openssl 3's -keyout): 36 bytes of header (48 base64 characters), then the 32-byte scalar.
  const header = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg";
  assert.ok(body.startsWith(header), `${file} is not a PKCS #8 P-256 key`);
  return [body, body.slice(header.length, header.length + 40)];
}

/** Replaces `target` with `source`'s content the way a rotation does (a new file renamed over the old one). */
function replaceFile(target: string, source: string): void {
  writeFileSync(`${target}.tmp`, readFileSync(source));
  renameSync(`${target}.tmp`, target);
}

/** GET over HTTPS through Envoy, verifying its certificate against `ca` for "localhost": status and body. */
function httpsGet(port: number, path: string, ca: TestCa): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, servername: "localhost", ca: readFileSync(ca.cert), agent: false, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The config_source of the modes whose resources name their own (per-type streams, REST polling). */
const configSourceOf: Record<string, string> = { xds: "grpc", rest: "rest" };

for (const mode of ["ads", "delta-ads", "xds", "rest"] as const) {
  describe(`secrets over SDS, ${mode} mode, real Envoy`, () => {
    let dir: string;
    let ca: TestCa;
    let backendCa: TestCa;
    let first: Issued;
    let second: Issued;
    let client: Issued;
    let certFile: string;
    let keyFile: string;
    let backend: Server;
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    let port = 0;
    const keyBodies: string[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `xdsd-sds-${mode}-`));
      ca = new TestCa("sds", dir);
      backendCa = new TestCa("backend", dir);
      first = ca.issue("localhost", { san: ["DNS:localhost"] });
      second = ca.issue("localhost", { san: ["DNS:localhost"] });
      client = ca.issue("client");
      const backendCert = backendCa.issue("backend.test", { san: ["DNS:backend.test"] });
      keyBodies.push(...keyPieces(first.key), ...keyPieces(second.key), ...keyPieces(client.key));
      certFile = join(dir, "edge.pem");
      keyFile = join(dir, "edge.key");
      replaceFile(certFile, first.cert);
      replaceFile(keyFile, first.key);
      // The backend answers only over TLS, with a certificate for backend.test from its own CA.
      backend = createServer({ cert: readFileSync(backendCert.cert), key: readFileSync(backendCert.key) }, (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`backend saw SNI ${(req.socket as unknown as { servername?: string }).servername}`);
      });
      await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
      const backendPort = (backend.address() as AddressInfo).port;
      port = await freePort();
      writeFileSync(join(dir, "token"), token);
      const config = `${configSourceOf[mode] ? `config_source: ${configSourceOf[mode]}\n` : ""}secrets:
  - {name: edge_cert, cert_file: ${certFile}, key_file: ${keyFile}}
  - {name: backend_ca, ca_file: ${backendCa.cert}}
  - {name: other_ca, ca_file: ${ca.cert}}
clusters:
  - {name: backend, endpoints: ["127.0.0.1:${backendPort}"], tls: {sni: backend.test, validation_context: backend_ca}}
  - {name: backend_other_ca, endpoints: ["127.0.0.1:${backendPort}"], tls: {sni: backend.test, validation_context: other_ca}}
listeners:
  - name: https
    address: 127.0.0.1
    port: ${port}
    tls: {certificate: edge_cert}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: /other-ca, cluster: backend_other_ca}, {prefix: /, cluster: backend}]}]
`;
      xdsd = await startXdsd(config, { args: ["--log-level", "debug", "--admin-token-file", join(dir, "token")] });
      const bootstrapYaml = await bootstrapFor(xdsd, mode, `sds-${mode}`, await freePort());
      envoy = await startEnvoy({ bootstrapYaml, name: `sds-${mode}` });
      await envoy.waitReady();
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop();
      await new Promise((resolve) => backend?.close(resolve));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const serial = () => servedSerial(port, ca, client);

    it("serves HTTPS with the certificate from xdsd: the chain verifies against the test CA, and Envoy asked for it over SDS", async () => {
      await envoy.waitFor(async () => (await httpsGet(port, "/", ca)).status === 200, { what: "an HTTPS request through Envoy to answer 200" });
      assert.equal(await serial(), serialOf(first.cert));
      assert.match(xdsd.log(), /recv .* type=sds .*(names|subscribe)=\[[^\]]*"edge_cert"/, "Envoy asks for the listener's secret by name");
    });

    it("upstream TLS with SNI and CA validation: traffic flows to the https backend; with another CA it does not", async () => {
      const ok = await httpsGet(port, "/", ca);
      assert.deepEqual(ok, { status: 200, body: "backend saw SNI backend.test" });
      const refused = await httpsGet(port, "/other-ca", ca);
      assert.equal(refused.status, 503, refused.body);
      assert.ok(((await envoy.stat("cluster.backend_other_ca.ssl.fail_verify_error")) ?? 0) > 0, "the handshake failed on the backend's certificate");
    });

    it("the certificate's files replaced: a new connection gets the new serial within 2 s, from the same Envoy, only the Secret sent", async (t) => {
      const pid = envoy.pid;
      const mark = xdsd.log().length;
      const started = Date.now();
      // The key first, then the certificate: in between, the pair does not match and that load is refused.
      replaceFile(keyFile, second.key);
      replaceFile(certFile, second.cert);
      const wanted = serialOf(second.cert);
      let seen = "";
      while (Date.now() - started < 5_000) {
        seen = await serial();
        if (seen === wanted) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const tookMs = Date.now() - started;
      t.diagnostic(`the new serial was seen ${tookMs} ms after the files were replaced`);
      assert.equal(seen, wanted, "the client sees the new certificate");
      // A REST client learns of a change at its next poll (refresh_delay, 1 s in xdsd's bootstraps): one more second.
      const budgetMs = mode === "rest" ? 3_000 : 2_000;
      assert.ok(tookMs < budgetMs, `the new certificate took ${tookMs} ms to reach the client`);
      assert.equal(envoy.pid, pid, "the same Envoy");
      const log = xdsd.log().slice(mark);
      assert.match(log, /send .* type=sds /);
      assert.doesNotMatch(log, /send .* type=(lds|cds|rds|eds) /, "the listener and clusters are as they were");
      assert.equal((await httpsGet(port, "/", ca)).status, 200);
    });

    it("a bad key file is refused with its location, and the last good secret keeps being served", async () => {
      const mark = xdsd.log().length;
      replaceFile(keyFile, client.key);
      await xdsd.waitForLog(
        new RegExp(`rejected, still serving [\\s\\S]*?the private key in ${keyFile.replace(/[.]/g, "\\.")} is not the key of the certificate`),
        5_000,
        mark,
      );
      assert.equal(await serial(), serialOf(second.cert));
      assert.equal((await httpsGet(port, "/", ca)).status, 200);
      replaceFile(keyFile, second.key);
      await xdsd.waitForLog(/published/, 5_000, mark);
    });

    it("no private key in /config, /nodes, /metrics, the write API's answers, or the daemon's log", async () => {
      // A raw Secret with its key inline, written through the API: the answers show everything but the key.
      const pem = readFileSync(first.key, "utf8");
      const secretPath = "/v1/resources/envoy.extensions.transport_sockets.tls.v3.Secret/api_secret";
      const answers: string[] = [];
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${xdsd.adminUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        answers.push(text);
        return { status: res.status, text };
      };
      const put = await call("PUT", secretPath, {
        tls_certificate: { certificate_chain: { inline_string: readFileSync(first.cert, "utf8") }, private_key: { inline_string: pem } },
      });
      assert.equal(put.status, 201, put.text);
      const got = await call("GET", secretPath);
      assert.equal(got.status, 200);
      assert.match(got.text, /"private_key": ?"\[redacted\]"/);
      assert.match(got.text, /BEGIN CERTIFICATE/, "the certificate is shown");
      await call("GET", "/v1/resources");
      // Refused: the answer's error quotes the value that does not decode, never the key in it.
      const bad = await call("PUT", secretPath, { tls_certificate: { private_key: pem } });
      assert.equal(bad.status, 422, bad.text);
      const config = await xdsd.admin("/config");
      const configText = JSON.stringify(config.json);
      assert.match(configText, /"privateKey":"\[redacted\]"/, "/config shows the Secrets, their keys redacted");
      const shown = {
        "/config": configText,
        "/nodes": JSON.stringify((await xdsd.admin("/nodes")).json),
        "/metrics": await (await fetch(`${xdsd.adminUrl}/metrics`)).text(),
        "the write API's answers": answers.join("\n"),
        "the daemon's log": xdsd.rawLog(),
      };
      for (const [where, text] of Object.entries(shown)) {
        for (const piece of keyBodies) assert.ok(!text.includes(piece), `${where} shows a private key: ${piece}`);
      }
    });
  });
}
