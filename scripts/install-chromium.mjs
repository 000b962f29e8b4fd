#!/usr/bin/env node
// Makes sure a Chromium is available to the browser tests (test/ui/: the dashboard at /ui/ driven by
// playwright-core, which downloads no browser of its own), and prints its path on stdout (everything else goes to
// stderr).
//
// Where it comes from, in order:
//   1. $CHROMIUM_BIN, if set: an explicit choice, never silently replaced; if it is not an executable we fail.
//   2. `chromium` on PATH.
//   3. Debian's `chromium` package, installed with apt-get (needs root, as the CI runs; elsewhere this fails and says
//      what to run). As for Prometheus and etcd, the distribution's package is the one supported source.
import { resolve } from "node:path";
import { InstallError, aptGet, isExecutable, onPath, runVersion } from "./lib/install-tools.mjs";

function aptInstall() {
  if (!onPath("apt-get")) {
    throw new InstallError(
      "chromium is not on PATH and this machine has no apt-get. Install Chromium with your package manager and put it on PATH, or set CHROMIUM_BIN.",
    );
  }
  if (process.getuid?.() !== 0) {
    throw new InstallError(
      "chromium is not on PATH, and installing Debian's package needs root: run `sudo node scripts/install-chromium.mjs` (or `sudo apt-get install -y chromium`), or set CHROMIUM_BIN.",
    );
  }
  // The package lists of a fresh machine may be empty or stale: update once if the first attempt fails.
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  if (!aptGet(install) && !(aptGet(["update"]) && aptGet(install))) throw new InstallError("apt-get install chromium failed; see apt's output above");
}

try {
  let found;
  if (process.env.CHROMIUM_BIN) {
    if (!isExecutable(process.env.CHROMIUM_BIN)) throw new InstallError(`CHROMIUM_BIN=${process.env.CHROMIUM_BIN} is not an executable file`);
    found = resolve(process.env.CHROMIUM_BIN);
  } else {
    found = onPath("chromium");
    if (!found) {
      aptInstall();
      found = onPath("chromium");
      if (!found) throw new InstallError("apt-get installed chromium, but chromium is still not on PATH");
    }
  }
  const run = runVersion(found);
  if (run.status !== 0) throw new InstallError(`${found} --version exited ${run.status}: ${run.output.trim()}`);
  console.error(`${found}: ${run.output.trim().split("\n")[0]}`);
  console.log(found);
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install-chromium: ${err.message}`);
  process.exit(1);
}
