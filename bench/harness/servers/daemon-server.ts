// xdsd as a daemon, driven by its real input: `xdsd serve` (the CLI of bin/xdsd.js, a child of this process) on a
// config file that this wrapper rewrites for every step and swaps in by an atomic rename, exactly as a deploy tool
// edits the file of a running daemon. The load generator connects to the daemon's own xDS port.
//
// What is measured is the daemon, not this wrapper: `GET /stats` gives `measuredPid` (the daemon's pid) and the
// driver reads CPU and memory from /proc for that pid. The wrapper's own work per step is kept out of the figures
// as far as possible: step i+1's file is written right after step i is taken, so that `POST /step` is one
// rename(2). The daemon inherits this process's CPU pinning (taskset applies to children) and its node flags
// (the driver's --node-args, e.g. --cpu-prof).
//
// The config file is the fixture's state written by lib/daemon-config.ts (raw Envoy resources, one per line).
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DaemonConfigText } from "../lib/daemon-config.js";
import { repoRoot } from "../lib/paths.js";
import { readFixture } from "../lib/fixture-file.js";
import { runControl, serverArgs } from "./node-control.js";

const args = serverArgs();
const fixture = readFixture(args.fixture);

const config = new DaemonConfigText();

const dir = mkdtempSync(join(tmpdir(), "xdsd-bench-daemon-"));
const configPath = join(dir, "xdsd.yaml");
const nextPath = join(dir, "next.yaml");

function write(path: string): void {
  writeFileSync(path, config.text());
}

let step = 0;
config.apply(fixture.steps[0]);
write(configPath);
/** The step whose file is ready at nextPath, or -1. */
let prepared = -1;
function prepareNext(): void {
  const i = step + 1;
  if (prepared === i || i >= fixture.steps.length) return;
  config.apply(fixture.steps[i]);
  write(nextPath);
  prepared = i;
}

const daemon = spawn(
  process.execPath,
  [
    ...process.execArgv,
    join(repoRoot, "bin", "xdsd.js"),
    "serve",
    "--config",
    configPath,
    "--xds-listen",
    `127.0.0.1:${args.xdsPort}`,
    "--admin-listen",
    "127.0.0.1:0",
    "--data-dir",
    join(dirname(configPath), "data"),
  ],
  { stdio: ["ignore", "pipe", "pipe"] },
);
let output = "";
const keep = (chunk: Buffer) => {
  // Only the start-up lines are needed (the listening line; the reason for a failure): keep a bounded tail.
  output = (output + chunk.toString()).slice(-64 * 1024);
};
daemon.stdout.on("data", keep);
daemon.stderr.on("data", keep);
const daemonExit = new Promise<number | null>((r) => daemon.on("exit", (code) => r(code)));
await new Promise<void>((ready, fail) => {
  const timer = setInterval(() => {
    if (output.includes("serving xDS on")) {
      clearInterval(timer);
      ready();
    }
  }, 10);
  daemonExit.then((code) => fail(new Error(`xdsd serve exited ${code} before serving:\n${output}`)));
  setTimeout(() => fail(new Error(`xdsd serve did not start within 120 s:\n${output}`)), 120_000).unref();
});
let closing = false;
daemonExit.then((code) => {
  if (closing) return;
  console.error(`xdsd serve exited ${code} while measured:\n${output}`);
  process.exit(1);
});
prepareNext();

await runControl(args.controlPort, {
  step() {
    if (step + 1 >= fixture.steps.length) throw new Error(`no step ${step + 1}: the fixture has ${fixture.steps.length} steps`);
    prepareNext();
    renameSync(nextPath, configPath);
    step++;
    setImmediate(prepareNext);
    return step;
  },
  stats: () => ({
    measuredPid: daemon.pid,
    // The wrapper's event loop is not the daemon's: leave those figures out rather than report the wrong process.
    eventLoopDelayP99Ms: undefined,
    eventLoopDelayMaxMs: undefined,
  }),
  async close() {
    closing = true;
    daemon.kill("SIGTERM");
    const code = await Promise.race([daemonExit, new Promise((r) => setTimeout(() => r("still running"), 5000))]);
    if (code !== 0) console.error(`xdsd serve: exit ${code} on SIGTERM`);
    daemon.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  },
});
