// What the install scripts (install-envoy.mjs, install-prometheus.mjs, install-etcd.mjs, …) share: the error they
// report to the user (anything else is a bug and keeps its stack), how they tell a usable binary, find one on PATH,
// and run apt-get.
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, rmSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";

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

/** The first executable `name` on PATH, or undefined. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** apt-get with `args`, non-interactive, its output on our stderr; whether it succeeded (10 minutes at most). */
export function aptGet(args) {
  console.error(`apt-get ${args.join(" ")}`);
  const run = spawnSync("apt-get", args, {
    // apt's output goes to our stderr: stdout is reserved for the result.
    stdio: ["ignore", process.stderr, process.stderr],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 10 * 60_000,
  });
  if (run.error) throw new InstallError(`cannot run apt-get: ${run.error.message}`);
  return run.status === 0;
}

/** `<bin> --version`, run (a binary that cannot start is as good as none): its exit status and whole output. */
export function runVersion(bin) {
  const run = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (run.error) throw new InstallError(`cannot run ${bin} --version: ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** python3 with the given arguments (10 minutes at most). */
export function python(args, options = {}) {
  return spawnSync("python3", args, { encoding: "utf8", timeout: 10 * 60_000, ...options });
}

/**
 * `pip install --target targetDir pkg`: project-local, from PyPI (a registry every developer and CI machine can
 * reach). pip's progress goes to stderr: the scripts keep stdout for what they print for callers.
 */
export function pipInstallTarget(pkg, targetDir) {
  // A half-finished or different-version install would make pip --target merge trees; start clean instead.
  rmSync(targetDir, { recursive: true, force: true });
  mkdirSync(dirname(targetDir), { recursive: true });
  console.error(`installing ${pkg} into ${targetDir} ...`);
  const started = Date.now();
  const run = python(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--target", targetDir, pkg], {
    stdio: ["ignore", process.stderr, process.stderr],
    // pip warns about running as root (a container's, a CI runner's) on every install; an install into a project's
    // own directory is what it recommends instead, so the warning says nothing to act on (issue 18, item 21). An
    // environment variable rather than --root-user-action, which pips before 22.1 refuse as an unknown option.
    env: { ...process.env, PIP_ROOT_USER_ACTION: "ignore" },
  });
  if (run.error) throw new InstallError(`cannot run python3 -m pip: ${run.error.message} (is Python 3 with pip installed?)`);
  if (run.status !== 0) {
    rmSync(targetDir, { recursive: true, force: true });
    throw new InstallError(`pip install ${pkg} failed (exit ${run.status}); see the pip output above`);
  }
  console.error(`installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
