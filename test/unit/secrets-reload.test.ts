// The daemon's reloader with secrets' files (issue 19 item 3): it watches them, a replaced certificate is a new
// version published (the config file unchanged), a bad one is refused and the last good Secret stays served, fixing
// it brings the config back, an unchanged file is not loaded again, and an endpoint written into a cluster with tls
// is still settled without loading the whole config. The real config worker thread, a real SQLite store.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Secret } from "../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { ConfigReloader, type ReloadResult } from "../../src/daemon/reloader.js";
import type { Logger } from "../../src/log.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { TestCa, type Issued } from "../support/certs.js";
import { lines } from "./config-helpers.js";

let dir: string;
let ca: TestCa;
let first: Issued;
let second: Issued;
let reloader: ConfigReloader;
const cache = new SnapshotCache();
const results: ReloadResult[] = [];
const logged: string[] = [];
const certFile = () => join(dir, "edge.pem");
const keyFile = () => join(dir, "edge.key");

function replace(target: string, source: string): void {
  writeFileSync(`${target}.tmp`, readFileSync(source));
  renameSync(`${target}.tmp`, target);
}

/** The PEM certificate chain of the Secret "edge" served now. */
function servedChain(): string | undefined {
  const secret = cache.snapshotFor("any/node")?.resources(TypeUrl.Secret).get("edge")?.message as Secret | undefined;
  const chain = secret?.type.case === "tlsCertificate" ? secret.type.value.certificateChain?.specifier : undefined;
  return chain?.case === "inlineString" ? chain.value : undefined;
}

async function until(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}; log:\n${logged.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "xdsd-secrets-reload-"));
  ca = new TestCa("reload", dir);
  first = ca.issue("localhost");
  second = ca.issue("localhost");
  replace(certFile(), first.cert);
  replace(keyFile(), first.key);
  const config = join(dir, "xdsd.yaml");
  writeFileSync(
    config,
    lines(
      "secrets:",
      "  - {name: edge, cert_file: edge.pem, key_file: edge.key}",
      `  - {name: ca, ca_file: ${ca.cert}}`,
      "clusters:",
      '  - {name: web, endpoints: ["127.0.0.1:443"], tls: {validation_context: ca}}',
      "listeners:",
      "  - {name: https, port: 10443, tls: {certificate: edge}, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: web}]}]}",
    ),
  );
  const log: Logger = {
    debug: (m) => logged.push(m),
    info: (m) => logged.push(m),
    warn: (m) => logged.push(m),
    error: (m) => logged.push(m),
  };
  const store = await SqliteStore.open(mkdtempSync(join(tmpdir(), "xdsd-secrets-reload-store-")));
  reloader = new ConfigReloader(config, cache, log, { store, onReload: (r) => results.push(r) });
  await reloader.loadInitial();
  reloader.start();
});
after(() => reloader?.close());

test("the secrets' files are read and served; looked at again unchanged, nothing is loaded", async () => {
  assert.equal(servedChain(), readFileSync(first.cert, "utf8"));
  await reloader.reload();
  assert.equal(results.at(-1), "unchanged");
});

test("an endpoint written into a cluster with tls is settled without loading the whole config", async () => {
  const settledBefore = logged.filter((m) => /store object\(s\) written/.test(m)).length;
  await reloader.write([{ op: "put", kind: "endpoint", name: "web/127.0.0.9:443", value: { address: "127.0.0.9", port: 443 } }]);
  assert.equal(logged.filter((m) => /store object\(s\) written/.test(m)).length, settledBefore + 1, logged.slice(-3).join("\n"));
});

test("the key and certificate replaced on disk: the new Secret is published, the config file unchanged", async () => {
  const version = reloader.state?.version;
  replace(keyFile(), second.key);
  replace(certFile(), second.cert);
  await until("the new certificate to be served", () => servedChain() === readFileSync(second.cert, "utf8"));
  assert.notEqual(reloader.state?.version, version, "a new version");
});

test("a key that is not the certificate's is refused with where and why; the last good Secret stays; fixed, it comes back", async () => {
  const served = servedChain();
  const rejected = results.filter((r) => r === "rejected").length;
  replace(keyFile(), first.key);
  await until("the reload to be rejected", () => results.filter((r) => r === "rejected").length > rejected);
  assert.equal(servedChain(), served);
  assert.match(
    reloader.state?.lastError?.message ?? "",
    /xdsd\.yaml:2:49 \(secrets\[0\]\.key_file\): the private key in \S+edge\.key is not the key of the certificate in \S+edge\.pem/,
  );
  replace(certFile(), first.cert);
  await until("the fixed pair to be served", () => servedChain() === readFileSync(first.cert, "utf8"));
  assert.equal(reloader.state?.lastError, undefined);
});
