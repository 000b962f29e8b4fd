// The real `xdsd serve` as a bench subject: started from bin/xdsd.js (pinned to CPU 0 with taskset when present,
// the bench process moving itself to CPU 1), its ports read from its log, and its CPU read from /proc — the
// kernel's figure for every thread of the process (the config worker included), not one the daemon reports.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./paths.js";
import { cpuSeconds } from "./proc.js";

export interface BenchDaemon {
  readonly child: ChildProcess;
  readonly xdsPort: number;
  readonly adminPort: number;
  /** Whether the daemon is on CPU 0 and this process on CPU 1. */
  readonly pinned: boolean;
  /** The daemon's process id (under taskset, node's). */
  readonly pid: number;
  /** The daemon's user + system CPU so far, in ms (the kernel counts in clock ticks: 10 ms on Linux). */
  cpuMs(): number;
  /** The same, of its main (JavaScript) thread alone: the rest is the config worker, GC helpers and libuv. */
  mainThreadCpuMs(): number;
  /** What it logged (stderr) so far. */
  log(): string;
  /** SIGTERM, and its exit (a profile the daemon writes is complete then); SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts `xdsd serve` with these arguments (listen addresses are added: ports chosen by the kernel). */
export async function startBenchDaemon(args: readonly string[]): Promise<BenchDaemon> {
  const pinned = spawnSync("taskset", ["-c", "1", "true"]).status === 0;
  if (pinned) spawnSync("taskset", ["-p", "-c", "1", String(process.pid)]);
  // XDSD_BENCH_NODE_ARGS: node flags for the daemon (e.g. "--cpu-prof --cpu-prof-dir=build/bench/prof").
  const nodeArgs = (process.env.XDSD_BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const argv = [...nodeArgs, join(repoRoot, "bin", "xdsd.js"), "serve", "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", ...args];
  const child = pinned ? spawn("taskset", ["-c", "0", process.execPath, ...argv]) : spawn(process.execPath, argv);
  let log = "";
  child.stderr!.on("data", (d) => (log += d));
  child.stdout!.on("data", (d) => (log += d));
  process.on("exit", () => child.kill("SIGKILL"));
  const ports = await new Promise<{ xds: number; admin: number }>((ok, fail) => {
    const timer = setInterval(() => {
      const m = /serving xDS on \S+:(\d+), admin on http:\/\/\S+:(\d+)/.exec(log);
      if (m) {
        clearInterval(timer);
        ok({ xds: Number(m[1]), admin: Number(m[2]) });
      }
    }, 20);
    child.on("exit", (code) => fail(new Error(`xdsd exited ${code}:\n${log}`)));
    setTimeout(() => {
      clearInterval(timer);
      fail(new Error(`xdsd did not start within 60 s:\n${log}`));
    }, 60_000).unref();
  });
  // Under taskset the child is taskset, which execs node: the same pid; pgrep covers a taskset that forks.
  const pid = pinned
    ? Number(
        spawnSync("pgrep", ["-P", String(child.pid)])
          .stdout.toString()
          .trim() || child.pid,
      )
    : child.pid!;
  return {
    child,
    xdsPort: ports.xds,
    adminPort: ports.admin,
    pinned,
    pid,
    cpuMs: () => cpuSeconds(pid) * 1000,
    mainThreadCpuMs: () => cpuSeconds(pid, "main") * 1000,
    log: () => log,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(timer);
          done();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** Median, p90, p99 and max of a list, as one line. */
export function describe(xs: readonly number[], digits = 1): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `median ${at(0.5).toFixed(digits)}, p90 ${at(0.9).toFixed(digits)}, p99 ${at(0.99).toFixed(digits)}, max ${s[s.length - 1].toFixed(digits)}`;
}

/** The q-quantile of a list (nearest rank). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
