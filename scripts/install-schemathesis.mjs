#!/usr/bin/env node
// Makes sure schemathesis (PyPI) is available to the API fuzz test (test/cli/openapi.test.ts), which runs it
// against a live daemon's /openapi.json, and prints the directory to put on PYTHONPATH on stdout (everything else
// goes to stderr). Installed project-locally into .tools/schemathesis with pip, like Envoy (install-envoy.mjs).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InstallError, pipInstallTarget, python } from "./lib/install-tools.mjs";

const VERSION = "4.32.5";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const targetDir = join(root, ".tools", "schemathesis");

/** Whether schemathesis imports from targetDir and is the expected version. */
function works() {
  const run = python(["-c", "import importlib.metadata as m; print(m.version('schemathesis'))"], { env: { ...process.env, PYTHONPATH: targetDir } });
  return run.status === 0 && run.stdout.trim() === VERSION;
}

try {
  if (!existsSync(join(targetDir, `schemathesis-${VERSION}.dist-info`)) || !works()) {
    pipInstallTarget(`schemathesis==${VERSION}`, targetDir);
    if (!works()) throw new InstallError(`schemathesis ${VERSION} was installed into ${targetDir} but does not import`);
  }
  console.log(targetDir);
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install-schemathesis: ${err.message}`);
  process.exit(1);
}
