// Runs the real `xdsd` command (bin/xdsd.js) as a child process for end-to-end tests, on a config file in a
// temporary directory that the test can rewrite while it runs.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpGet } from "./http.js";
import { repoRoot, trackChild, withParentDeathSignal } from "./processes.js";

export interface XdsdHandle {
  readonly configPath: string;
  readonly xdsPort: number;
  readonly adminUrl: string;
  /**
   * Everything the daemon logged so far, one `TIME LEVEL SUBSYSTEM MESSAGE` line per JSON record it wrote (the
   * daemon writes JSON on a pipe; a regex over the message, quotes included, reads better than over its JSON
   * escaping); lines that are not JSON records (a crash, a warning from node) as they came.
   */
  log(): string;
  /** The daemon's output as written. */
  rawLog(): string;
  /** The JSON records the daemon logged so far. */
  records(): LogRecord[];
  /** Waits until the log matches `re` (counting only matches after `fromIndex` characters). */
  waitForLog(re: RegExp, timeoutMs?: number, fromIndex?: number): Promise<string>;
  writeConfig(text: string): void;
  admin<T = unknown>(path: string): Promise<{ status: number; json: T }>;
  readonly pid: number;
  /** Resident set size of the daemon, from /proc (Linux). */
  rssBytes(): number;
  /** SIGTERM (or `signal`: SIGKILL for a control plane that dies without closing its streams); resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** One line of the daemon's JSON log (cli/daemon-log.ts). */
export interface LogRecord {
  level: string;
  time: string;
  subsystem: string;
  msg: string;
  pid: number;
  hostname: string;
}

/** A complete log line as text for log(): a JSON record as `TIME LEVEL SUBSYSTEM MESSAGE`, anything else as is. */
function lineText(line: string, records: LogRecord[]): string {
  if (line.startsWith("{")) {
    try {
      const r = JSON.parse(line) as LogRecord;
      if (typeof r.msg === "string") {
        records.push(r);
        return `${r.time} ${r.level} ${r.subsystem} ${r.msg}\n`;
      }
    } catch {}
  }
  return `${line}\n`;
}

export function runXdsd(
  args: string[],
  /** env: added to the test's environment */
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // `serve` gets a store of its own unless the test names one (parallel test files must not share one).
  if (args[0] === "serve" && !args.includes("--data-dir") && !args.includes("--store"))
    args = [...args, "--data-dir", join(mkdtempSync(join(tmpdir(), "xdsd-run-")), "data")];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot(), "bin", "xdsd.js"), ...args], {
      cwd: options.cwd ?? repoRoot(),
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

export async function startXdsd(
  configText: string,
  /** env: added to the test's environment */
  options: { xdsPort?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<XdsdHandle> {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-e2e-"));
  const configPath = join(dir, "xdsd.yaml");
  writeFileSync(configPath, configText);
  // Port 0 unless the test needs a fixed one: xdsd logs what it bound, so parallel test files cannot collide.
  const requestedXdsPort = options.xdsPort ?? 0;
  const [command, args] = withParentDeathSignal(process.execPath, [
    join(repoRoot(), "bin", "xdsd.js"),
    "serve",
    "--config",
    configPath,
    "--xds-listen",
    `127.0.0.1:${requestedXdsPort}`,
    "--admin-listen",
    "127.0.0.1:0",
    // A store of its own: daemons of parallel test files must not share one (one xdsd per data directory).
    ...(options.args?.includes("--data-dir") || options.args?.includes("--store") ? [] : ["--data-dir", join(dir, "data")]),
    ...(options.args ?? []),
  ]);
  const env = { ...process.env, ...options.env };
  const child: ChildProcess = spawn(command, args, { cwd: repoRoot(), env, stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  // Only complete lines are decoded, so log() only ever grows at its end (tests mark positions in it).
  let raw = "";
  let output = "";
  let pending = "";
  const records: LogRecord[] = [];
  const take = (d: Buffer | string) => {
    raw += d;
    pending += d;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) output += lineText(line, records);
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  // 'close', not 'exit': by then every line the daemon wrote has been read.
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      if (pending) output += lineText(pending, records);
      pending = "";
      resolve(code);
    }),
  );

  let xdsPort = 0;
  let adminUrl = "";
  const handle: XdsdHandle = {
    configPath,
    get xdsPort() {
      return xdsPort;
    },
    get adminUrl() {
      return adminUrl;
    },
    log: () => output,
    rawLog: () => raw,
    records: () => [...records],
    async waitForLog(re, timeoutMs = 5000, fromIndex = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(output.slice(fromIndex));
        if (m) return m[0];
        if (Date.now() > deadline) throw new Error(`xdsd did not log ${re} within ${timeoutMs} ms; its log:\n${output}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    writeConfig(text) {
      // Write-then-rename, as editors and config management tools do.
      const tmp = `${configPath}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, configPath);
    },
    async admin<T>(path: string) {
      const r = await httpGet(`${handle.adminUrl}${path}`);
      return { status: r.status, json: JSON.parse(r.body) as T };
    },
    get pid() {
      return child.pid!;
    },
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      child.kill(signal);
      return exited;
    },
  };
  // 20 s, as for Envoy (envoy.ts): a daemon started by several parallel test files on two loaded cores took over
  // 10 s. One that does not start is stopped, or its pipes keep the test process, and the run, alive for good.
  const ready = await handle.waitForLog(/xdsd serving xDS on \S+:(\d+), admin on (https?:[^\s,;]+)/, 20_000).catch(async (err: unknown) => {
    await handle.stop("SIGKILL");
    throw err;
  });
  const m = /:(\d+), admin on (https?:[^\s,;]+)/.exec(ready)!;
  xdsPort = Number(m[1]);
  adminUrl = m[2];
  return handle;
}

/**
 * `xdsd bootstrap` for a node of `xdsd`'s config in `mode`, Envoy's admin on `adminPort`: the bootstrap YAML the
 * end-to-end tests start Envoy with. Fails the test if the command does.
 */
export async function bootstrapFor(xdsd: XdsdHandle, mode: string, nodeId: string, adminPort: number): Promise<string> {
  const args = ["bootstrap", "--config", xdsd.configPath, "--mode", mode, "--node-id", nodeId, "--node-cluster", "cluster.local"];
  const boot = await runXdsd([...args, "--xds", `127.0.0.1:${xdsd.xdsPort}`, "--admin-port", String(adminPort)]);
  if (boot.code !== 0) throw new Error(`xdsd bootstrap --mode ${mode} exited ${boot.code}: ${boot.stderr}`);
  return boot.stdout;
}
