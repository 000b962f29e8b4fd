// `xdsd validate` on a config with secrets (issue 19 item 3): a key that is not its certificate's is an error at
// the key, naming both files (exit 2); an expired certificate is served, so validate passes and says it on stderr,
// located, as the daemon logs it.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { TestCa } from "../support/certs.js";
import { runXdsd } from "../support/xdsd.js";

const dir = mkdtempSync(join(tmpdir(), "xdsd-validate-secrets-"));
const ca = new TestCa("validate", dir);
const current = ca.issue("localhost");
const expired = ca.issue("old", { notBefore: "20200101000000Z", notAfter: "20200102000000Z" });

function config(cert: string, key: string): string {
  const file = join(dir, `xdsd-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    [
      "secrets:",
      `  - {name: edge, cert_file: ${cert}, key_file: ${key}}`,
      "clusters: [{name: b, endpoints: []}]",
      "listeners:",
      "  - {name: https, port: 10443, tls: {certificate: edge}, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: b}]}]}",
      "",
    ].join("\n"),
  );
  return file;
}

test("a key that is not the certificate's: exit 2 (an invalid config), the error at key_file naming both files", async () => {
  const file = config(current.cert, expired.key);
  const run = await runXdsd(["validate", "--config", file]);
  assert.equal(run.code, 2, run.stderr);
  assert.ok(
    run.stderr.includes(`${file}:2:`) &&
      run.stderr.includes(`(secrets[0].key_file): the private key in ${expired.key} is not the key of the certificate in ${current.cert}`),
    run.stderr,
  );
});

test("an expired certificate: ok, with a located warning on stderr", async () => {
  const file = config(expired.cert, expired.key);
  const run = await runXdsd(["validate", "--config", file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /: ok \(/);
  assert.ok(run.stderr.startsWith(`warning: ${file}:2:`), run.stderr);
  assert.match(run.stderr, /\(secrets\[0\]\.cert_file\): the certificate in \S+ \(CN=old\) expired on 2020-01-02T00:00:00\.000Z/);
});
