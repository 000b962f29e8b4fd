#!/usr/bin/env node
// Makes sure grpcio (PyPI: gRPC C-core with its Python API) is available to the proxyless gRPC tests
// (test/e2e/grpcio-client.test.ts, test/e2e/grpc-xds-server.test.ts), which run test/grpcio/xds_peer.py as a second
// xDS client independent of grpc-js, and prints the directory to put on PYTHONPATH on stdout (everything else goes
// to stderr). Installed project-locally into .tools/grpcio with pip, like schemathesis (install-schemathesis.mjs).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InstallError, pipInstallTarget, python } from "./lib/install-tools.mjs";

const VERSION = "1.85.1";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const targetDir = join(root, ".tools", "grpcio");

/** Whether grpc imports from targetDir and is the expected version. */
function works() {
  const run = python(["-c", "import grpc; print(grpc.__version__)"], { env: { ...process.env, PYTHONPATH: targetDir } });
  return run.status === 0 && run.stdout.trim() === VERSION;
}

try {
  if (!existsSync(join(targetDir, `grpcio-${VERSION}.dist-info`)) || !works()) {
    pipInstallTarget(`grpcio==${VERSION}`, targetDir);
    if (!works()) throw new InstallError(`grpcio ${VERSION} was installed into ${targetDir} but does not import`);
  }
  console.log(targetDir);
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install-grpcio: ${err.message}`);
  process.exit(1);
}
