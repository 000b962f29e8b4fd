#!/usr/bin/env node
// Makes sure `etcd` is available to the etcd store tests (test/store/etcd-*.test.ts start a 3-member cluster on
// loopback with test/support/etcd.ts), and prints its absolute path on stdout (everything else goes to stderr).
//
// Where it comes from, in order:
//   1. $ETCD_BIN, if set: an explicit choice, never silently replaced; if it is not an executable etcd we fail.
//   2. `etcd` on PATH.
//   3. Debian's `etcd-server` package (Debian 12 has 3.4.23), installed with apt-get. That needs root, as the CI
//      runs; elsewhere this fails and says what to run. As with Prometheus (install-prometheus.mjs) there is no
//      project-local install: the distribution's package is the supported source. On a machine whose service
//      manager runs package services, Debian also starts its own etcd on 127.0.0.1:2379; the tests never use it
//      (each test file starts its own cluster on free loopback ports).
import { resolve } from "node:path";
import { InstallError, aptGet, isExecutable, onPath, runVersion } from "./lib/install-tools.mjs";

const HOW =
  "Install Debian's etcd-server package (`sudo apt-get install -y etcd-server`, or `sudo node scripts/install-etcd.mjs`), or an etcd 3.4+ release from https://etcd.io, and put `etcd` on PATH or set ETCD_BIN.";

/** `etcd --version` must run and say "etcd Version: 3.x": returns that version. */
function etcdVersion(bin) {
  const run = runVersion(bin);
  const match = /etcd Version: (\d+\.\d+\.\d+)/.exec(run.output);
  if (run.status !== 0 || !match) throw new InstallError(`${bin} --version did not report an etcd version (exit ${run.status}):\n${run.output.trim()}`);
  const [major, minor] = match[1].split(".").map(Number);
  // The store uses the v3 API's transactions and watch progress notifications: etcd 3.4 and later.
  if (major !== 3 || minor < 4) throw new InstallError(`${bin} is etcd ${match[1]}; the store needs etcd 3.4 or later. ${HOW}`);
  return match[1];
}

function aptInstall() {
  if (!onPath("apt-get")) throw new InstallError(`etcd is not on PATH and this machine has no apt-get. ${HOW}`);
  if (process.getuid?.() !== 0) throw new InstallError(`etcd is not on PATH, and installing Debian's package needs root. ${HOW}`);
  // The package lists of a fresh machine may be empty or stale: update once if the first attempt fails.
  const install = ["install", "-y", "--no-install-recommends", "etcd-server"];
  if (!aptGet(install) && !(aptGet(["update"]) && aptGet(install))) throw new InstallError("apt-get install etcd-server failed; see apt's output above");
}

try {
  let bin;
  if (process.env.ETCD_BIN) {
    bin = resolve(process.env.ETCD_BIN);
    if (!isExecutable(bin)) throw new InstallError(`ETCD_BIN=${process.env.ETCD_BIN} is not an executable file`);
  } else {
    bin = onPath("etcd");
    if (!bin) {
      aptInstall();
      bin = onPath("etcd");
      if (!bin) throw new InstallError("apt-get installed etcd-server, but etcd is still not on PATH");
    }
  }
  console.error(`${bin}: etcd ${etcdVersion(bin)}`);
  console.log(bin);
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install-etcd: ${err.message}`);
  process.exit(1);
}
