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
//
// `--replicas N` (issue 20): N daemons on one store, a real 3-member etcd cluster (test/support/etcd.ts), all
// watching the same file, as replicas sharing a config do; /stats names every daemon (measuredPids: the driver sums
// their CPU and tells each apart) and their xDS ports (xdsPorts: the generator spreads its connections over them).
// The etcd members run on the same CPU as the daemons; their CPU is not counted.
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DaemonConfigText } from "../lib/daemon-config.js";
import { repoRoot } from "../lib/paths.js";
import { readFixture } from "../lib/fixture-file.js";
import { type EtcdCluster, startEtcdCluster } from "../../../test/support/etcd.js";
import { runControl, serverArgs } from "./node-control.js";

const args = serverArgs({ replicas: { type: "string" } });
const replicaCount = args.flags.replicas === undefined ? undefined : Number(args.flags.replicas);
if (replicaCount !== undefined && !(Number.isInteger(replicaCount) && replicaCount >= 1))
  throw new Error(`--replicas ${args.flags.replicas}: a whole number ≥ 1`);
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

const etcd: EtcdCluster | undefined = replicaCount === undefined ? undefined : await startEtcdCluster();
const store = etcd ? ["--store", etcd.url] : ["--data-dir", join(dirname(configPath), "data")];

interface Daemon {
  child: ReturnType<typeof spawn>;
  output(): string;
  exit: Promise<number | null>;
  xdsPort: number;
}

/** `xdsd serve` on the shared config file and store; resolves once it serves. */
async function startDaemon(xdsPort: number): Promise<Daemon> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      join(repoRoot, "bin", "xdsd.js"),
      "serve",
      "--config",
      configPath,
      "--xds-listen",
      `127.0.0.1:${xdsPort}`,
      "--admin-listen",
      "127.0.0.1:0",
      ...store,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    // Only the start-up lines are needed (the listening line; the reason for a failure): keep a bounded tail.
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const port = await new Promise<number>((ready, fail) => {
    const timer = setInterval(() => {
      const m = /serving xDS on \S+:(\d+)/.exec(output);
      if (m) {
        clearInterval(timer);
        ready(Number(m[1]));
      }
    }, 10);
    exit.then((code) => fail(new Error(`xdsd serve exited ${code} before serving:\n${output}`)));
    setTimeout(() => fail(new Error(`xdsd serve did not start within 120 s:\n${output}`)), 120_000).unref();
  });
  return { child, output: () => output, exit, xdsPort: port };
}

// The first on the port the driver chose; the other replicas on ports of the kernel's choosing.
const daemons: Daemon[] = [];
for (let i = 0; i < (replicaCount ?? 1); i++) daemons.push(await startDaemon(i === 0 ? args.xdsPort : 0));
let closing = false;
for (const d of daemons) {
  d.exit.then((code) => {
    if (closing) return;
    console.error(`xdsd serve exited ${code} while measured:\n${d.output()}`);
    process.exit(1);
  });
}
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
    measuredPid: daemons[0].child.pid,
    ...(replicaCount === undefined ? {} : { measuredPids: daemons.map((d) => d.child.pid), xdsPorts: daemons.map((d) => d.xdsPort) }),
    // The wrapper's event loop is not the daemon's: leave those figures out rather than report the wrong process.
    eventLoopDelayP99Ms: undefined,
    eventLoopDelayMaxMs: undefined,
  }),
  async close() {
    closing = true;
    await Promise.all(
      daemons.map(async (d) => {
        d.child.kill("SIGTERM");
        const code = await Promise.race([d.exit, new Promise((r) => setTimeout(() => r("still running"), 5000))]);
        if (code !== 0) console.error(`xdsd serve: exit ${code} on SIGTERM`);
        d.child.kill("SIGKILL");
      }),
    );
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  },
});
