// Child processes of the test process (Envoy, xdsd) must never outlive it, however it ends.
import type { ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file so it works from test/support and from dist/test/support. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

const running = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' covers normal ends and process.exit(); only synchronous work is possible there, hence SIGKILL.
  process.once("exit", killAllNow);
  // A fatal signal (Ctrl-C, a runner or CI stopping the test process) skips 'exit'. Listening to it cancels the
  // default "die", so once our children are gone we re-raise it, unless someone else also handles it.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllNow();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Kills `child` when the test process ends, unless it has exited by then. Covers every way out that runs
 *  JavaScript; see withParentDeathSignal for the others. */
export function trackChild(child: ChildProcess): void {
  installExitHooks();
  running.add(child);
  child.once("exit", () => running.delete(child));
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** util-linux's setpriv, present on Debian-based machines; the fallback without it is trackChild alone. */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find(isExecutable);

/**
 * Rewrites a command so the kernel SIGKILLs it when the test process dies, however it dies: no JavaScript hook runs
 * on SIGKILL or a native crash. setpriv sets the parent-death signal and execs the command, so the pid spawn()
 * returns is the command's own. Usage: `spawn(...withParentDeathSignal(bin, args), options)`.
 */
export function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ["--pdeathsig", "SIGKILL", "--", command, ...args]] : [command, args];
}
