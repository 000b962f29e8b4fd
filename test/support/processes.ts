// Child processes of the test process (Envoy, xdsd) must never outlive it, however it ends.
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
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
  // A fatal signal skips 'exit' (node --test sends SIGTERM to a test file that times out). Listening to it cancels
  // the default "die", so once our children are gone we re-raise it, unless someone else also handles it.
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

/** Kills `child` when the test process ends, unless it has exited by then. */
export function trackChild(child: ChildProcess): void {
  installExitHooks();
  running.add(child);
  child.once("exit", () => running.delete(child));
}
