// Starting and stopping the processes of a run: pinned to one CPU with taskset, with a file-descriptor limit high
// enough for 10,000 connections (raised in a bash wrapper that then execs, so the pid we hold is the process
// itself and /proc/<pid> describes it), output to a log file, stopped with SIGTERM (SIGKILL if it lingers).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import net from "node:net";
import { controlRequest } from "../lib/control-http.js";
import { sleep } from "../lib/clock.js";

/** Enough for scenario E (10,000 connections) plus the process's own files, on either side. */
export const fdLimit = 65536;

/** The hard limit on open files a child can raise its soft limit to. */
export function hardFdLimit(): number {
  const r = spawnSync("bash", ["-c", `ulimit -n ${fdLimit} 2>/dev/null; ulimit -Hn`], { encoding: "utf8" });
  const v = r.stdout.trim();
  return v === "unlimited" ? Infinity : Number(v);
}

let tasksetChecked: boolean | undefined;
function canPin(): boolean {
  if (tasksetChecked === undefined) {
    tasksetChecked = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
    if (!tasksetChecked) console.error("!!! taskset is not available: processes run UNPINNED, figures are not comparable");
  }
  return tasksetChecked;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Several processes measured as one server (replicas): their pids, `pid` the first. */
  pids?: number[];
  exited: Promise<number | null>;
  log: string;
}

/** Every child still running, so that a driver stopped by a signal does not leave servers or generators behind. */
const running = new Set<Started>();
let cleanupInstalled = false;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const p of running) p.child.kill("SIGKILL");
      process.exit(130);
    });
  }
}

export function startPinned(cpu: number, command: string, args: string[], log: string): Started {
  installCleanup();
  const out = openSync(log, "a");
  const pinned = canPin() ? ["taskset", "-c", String(cpu), command, ...args] : [command, ...args];
  // Raise the soft limit as far as the hard one allows (raising the hard limit itself needs CAP_SYS_RESOURCE,
  // which containers often lack; hardFdLimit() tells the driver whether what is left is enough).
  const child = spawn("bash", ["-c", `ulimit -n ${fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, "bench", ...pinned], {
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ? null : code)));
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const started = { child, pid: child.pid, exited, log };
  running.add(started);
  exited.then(() => running.delete(started));
  return started;
}

/** Polls a control port until it answers GET /stats (or the process dies, or the deadline passes). */
export async function waitReady(p: Started, controlPort: number, path = "/stats", timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  p.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`process ${p.pid} exited before it was ready; see ${p.log}`);
    try {
      await controlRequest(controlPort, "GET", path, undefined, 1000);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`process ${p.pid} not ready within ${timeoutMs} ms; see ${p.log}`);
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves to the exit code (null if killed by a signal). */
export async function stop(p: Started, graceMs = 10_000): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
