// What the install scripts (install-envoy.mjs, install-prometheus.mjs) share: the error they report to the user
// (anything else is a bug and keeps its stack), and how they tell a usable binary.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

/** A reason the tool cannot be installed or used, said to the user in one message. */
export class InstallError extends Error {}

export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `<bin> --version`, run (a binary that cannot start is as good as none): its exit status and whole output. */
export function runVersion(bin) {
  const run = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (run.error) throw new InstallError(`cannot run ${bin} --version: ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
