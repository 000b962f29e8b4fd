// The OpenAPI 3.1 file of the write API: generated from the config's JSON Schema (scripts/gen-openapi.mjs) and
// checked in up to date, served at /openapi.json, and true to what the daemon answers — schemathesis (PyPI,
// installed by scripts/install-schemathesis.mjs) generates requests from it against a live daemon, bounded in
// examples and time, and every check holds: no server error, every status code and content type documented,
// responses matching their schemas, schema-violating requests refused. It runs twice: against a plain loopback
// admin port with a bare token, and against an HTTPS admin port with mutual TLS and named, scoped tokens (issue 19).
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { TestCa } from "../support/certs.js";
import { repoRoot } from "../support/processes.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const root = repoRoot();
const token = "openapi-token-0123456789abcdef";
const config =
  'clusters: [{name: web, endpoints: ["127.0.0.1:8081"]}]\nlisteners: [{name: l, port: 10999, virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]}]\n';
let xdsd: XdsdHandle;
const dir = mkdtempSync(join(tmpdir(), "xdsd-openapi-"));
/**
 * schemathesis sends requests without the token or with a wrong one on purpose (negative auth cases, each answered
 * 401), and waits out every 429's Retry-After: the slowing down of failed authentications (tested in
 * admin-security.test.ts) would turn its run into a minute's wait per 10 such requests.
 */
const unlimitedAuthFailures = ["--max-admin-auth-failures", "1000000"];

before(async () => {
  writeFileSync(join(dir, "token"), token);
  xdsd = await startXdsd(config, { args: ["--admin-token-file", join(dir, "token"), ...unlimitedAuthFailures] });
});
after(async () => {
  await xdsd?.stop();
});

test("schema/openapi.json is what scripts/gen-openapi.mjs writes, and /openapi.json serves it", async () => {
  execFileSync(process.execPath, [join(root, "scripts", "gen-openapi.mjs"), "--check"], { stdio: "pipe" });
  const served = await fetch(`${xdsd.adminUrl}/openapi.json`);
  assert.equal(served.status, 200);
  assert.deepEqual(await served.json(), JSON.parse(readFileSync(join(root, "schema", "openapi.json"), "utf8")));
});

/**
 * schemathesis on the daemon at `adminUrl` with `args` (headers, TLS), bounded in examples and time: every check
 * holds. Run asynchronously: the test process must keep reading the daemon's output meanwhile — every write is an
 * audit line, and a daemon whose stderr pipe is full stops answering.
 */
async function schemathesis(xdsd: XdsdHandle, args: string[]): Promise<void> {
  const pythonPath = join(root, ".tools", "schemathesis");
  assert.ok(existsSync(pythonPath), "schemathesis is missing: run `node scripts/install-schemathesis.mjs` (npm test does)");
  const checks = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
  ];
  // Run from a scratch directory: schemathesis keeps a cache (.schemathesis/) where it runs.
  const cwd = mkdtempSync(join(tmpdir(), "xdsd-schemathesis-"));
  // A request with a failing If-Match is answered 412 whatever its body (RFC 9110 §13.2.2: preconditions are
  // evaluated before the content is looked at), so 412 is a rejection of invalid data too.
  writeFileSync(
    join(cwd, "schemathesis.toml"),
    '[checks.negative_data_rejection]\nexpected-statuses = [400, 401, 403, 404, 405, 406, 409, 412, 415, 422, 428, 429, "5xx"]\n',
  );
  const child = spawn(
    "python3",
    [
      "-m",
      "schemathesis.cli",
      "--config-file",
      join(cwd, "schemathesis.toml"),
      "run",
      `${xdsd.adminUrl}/openapi.json`,
      ...args,
      "--checks",
      checks.join(","),
      "--max-examples",
      "15",
      "--workers",
      "1",
      "--seed",
      "20261202",
      "--no-color",
    ],
    { env: { ...process.env, PYTHONPATH: pythonPath }, cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let text = "";
  child.stdout.on("data", (d) => (text += d));
  child.stderr.on("data", (d) => (text += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  const run = { status, stdout: text, stderr: "" };
  const output = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, output.slice(-6000));
  const summary = /(\d+) generated, (\d+) passed/.exec(output);
  assert.ok(summary, output.slice(-3000));
  assert.ok(Number(summary[1]) >= 500, `only ${summary[1]} test cases generated`);
  assert.equal(summary[1], summary[2], output.slice(-3000));
  // The daemon survived all of it.
  assert.equal(spawnSync("kill", ["-0", String(xdsd.pid)]).status, 0);
}

test("schemathesis against the live daemon: every check holds, 0 server errors", { timeout: 300_000 }, async () => {
  await schemathesis(xdsd, ["-H", `Authorization: Bearer ${token}`]);
});

test("schemathesis against the daemon's HTTPS admin port, mutual TLS and a named write token: every check holds", { timeout: 300_000 }, async () => {
  const ca = new TestCa("openapi", dir);
  const server = ca.issue("xdsd-admin", { san: ["DNS:localhost", "IP:127.0.0.1"] });
  const client = ca.issue("schemathesis");
  const tokens = join(dir, "tokens");
  writeFileSync(tokens, `deploy write ${token}\nscrape read openapi-read-token-0123456789\n`);
  const tls = await startXdsd(config, {
    args: [
      "--admin-token-file",
      tokens,
      "--admin-tls-cert",
      server.cert,
      "--admin-tls-key",
      server.key,
      "--admin-client-ca",
      ca.cert,
      ...unlimitedAuthFailures,
    ],
  });
  try {
    assert.match(tls.adminUrl, /^https:/);
    await schemathesis(tls, ["-H", `Authorization: Bearer ${token}`, "--tls-verify", ca.cert, "--request-cert", client.cert, "--request-cert-key", client.key]);
  } finally {
    await tls.stop();
  }
});
