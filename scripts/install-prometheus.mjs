#!/usr/bin/env node
// Makes sure `prometheus` and `promtool` are available to the metrics tests (test/e2e/prometheus.test.ts scrapes
// xdsd with a real Prometheus server; test/cli/metrics-promtool.test.ts lints /metrics with `promtool check
// metrics`), and prints the directory holding them on stdout (everything else goes to stderr).
//
// Where they come from, in order:
//   1. $PROMETHEUS_BIN and $PROMTOOL_BIN, if set: an explicit choice, never silently replaced; if either is not an
//      executable we fail.
//   2. `prometheus` and `promtool` on PATH.
//   3. Debian's `prometheus` package (Debian 12 has 2.42), installed with apt-get. That needs root, as the CI runs;
//      elsewhere this fails and says what to run. Unlike Envoy (scripts/install-envoy.mjs) there is no
//      project-local install: the Debian package is the one supported source, so that the binaries are the
//      distribution's, updated by it. Note that on a machine whose service manager runs package services (not a
//      container with a policy-rc.d that forbids it), Debian starts its own Prometheus service on :9090; the tests do
//      not use it (each starts its own on a free loopback port).
import { dirname, resolve } from "node:path";
import { InstallError, aptGet, isExecutable, onPath, runVersion } from "./lib/install-tools.mjs";

/** `<bin> --version` must run: a binary that cannot start is as good as none. Returns its first line. */
function versionOf(bin) {
  const run = runVersion(bin);
  if (run.status !== 0) throw new InstallError(`${bin} --version exited ${run.status}: ${run.output.trim()}`);
  return run.output.trim().split("\n")[0];
}

function fromEnv() {
  const found = {};
  for (const [name, variable] of [
    ["prometheus", "PROMETHEUS_BIN"],
    ["promtool", "PROMTOOL_BIN"],
  ]) {
    const value = process.env[variable];
    if (!value) throw new InstallError(`${variable} is unset while ${name === "prometheus" ? "PROMTOOL_BIN" : "PROMETHEUS_BIN"} is set; set both`);
    if (!isExecutable(value)) throw new InstallError(`${variable}=${value} is not an executable file`);
    found[name] = resolve(value);
  }
  return found;
}

function findBoth() {
  const prometheus = onPath("prometheus");
  const promtool = onPath("promtool");
  return prometheus && promtool ? { prometheus, promtool } : undefined;
}

function aptInstall() {
  if (!onPath("apt-get")) {
    throw new InstallError(
      "prometheus and promtool are not on PATH and this machine has no apt-get. Install Prometheus (both binaries) with your package manager or from https://prometheus.io/download/ and put them on PATH, or set PROMETHEUS_BIN and PROMTOOL_BIN.",
    );
  }
  if (process.getuid?.() !== 0) {
    throw new InstallError(
      "prometheus and promtool are not on PATH, and installing Debian's package needs root: run `sudo node scripts/install-prometheus.mjs` (or `sudo apt-get install -y prometheus`), or set PROMETHEUS_BIN and PROMTOOL_BIN.",
    );
  }
  // The package lists of a fresh machine may be empty or stale: update once if the first attempt fails.
  const install = ["install", "-y", "--no-install-recommends", "prometheus"];
  if (!aptGet(install) && !(aptGet(["update"]) && aptGet(install))) {
    throw new InstallError("apt-get install prometheus failed; see apt's output above");
  }
}

try {
  let found = process.env.PROMETHEUS_BIN || process.env.PROMTOOL_BIN ? fromEnv() : findBoth();
  if (!found) {
    aptInstall();
    found = findBoth();
    if (!found) throw new InstallError("apt-get installed prometheus, but prometheus and promtool are still not on PATH");
  }
  for (const bin of [found.prometheus, found.promtool]) console.error(`${bin}: ${versionOf(bin)}`);
  console.log(dirname(found.prometheus));
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install-prometheus: ${err.message}`);
  process.exit(1);
}
