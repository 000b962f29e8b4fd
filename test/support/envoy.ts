// Runs a real Envoy for end-to-end tests and reads its admin interface.
//
// Ground rules:
// - No Envoy binary is a test failure, never a skip: a suite that quietly skips its only real-proxy tests proves
//   nothing. `npm run install-envoy` (scripts/install-envoy.mjs) installs one.
// - Several test files run in parallel processes, each possibly with several Envoys, so nothing may be shared:
//   hot restart is disabled (no shared-memory segment keyed by --base-id, see startEnvoy) and the admin address is
//   read back from --admin-address-path, so the bootstrap may use admin port 0.
// - An Envoy must never outlive the test process: it is killed on stop(), on process exit and on fatal signals, and
//   where util-linux's setpriv exists the kernel kills it even if Node itself is SIGKILLed.
import { spawn, type ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { httpGet } from "./http.js";
import { isExecutable, repoRoot, trackChild, withParentDeathSignal } from "./processes.js";

// Re-exported so a test building a bootstrap gets the port helper from the same place as the harness.
export { freePort } from "./ports.js";

export interface StartEnvoyOptions {
  /** Full bootstrap. Its admin address should be 127.0.0.1 with port 0 (or a freePort()); the harness finds the
   *  real address either way. */
  bootstrapYaml: string;
  /** Used in the temp dir name and in error messages; handy when a test runs several Envoys. */
  name?: string;
  /** Envoy's --log-level; defaults to "warn" (the log file is what the tail in error messages shows). */
  logLevel?: string;
  /** What startEnvoy waits for before resolving. "admin" (the default) suits dynamic bootstraps, where Envoy stays
   *  PRE_INITIALIZING/INITIALIZING until the control plane answers; "ready" waits for /ready to answer 200. */
  waitFor?: "admin" | "ready";
  /** Deadline for that wait; defaults to 20 s (two cores shared by parallel test files). */
  startTimeoutMs?: number;
  /** Appended to Envoy's command line, e.g. ["--component-log-level", "upstream:debug"]. */
  extraArgs?: string[];
}

export interface WaitForOptions {
  /** Describes the awaited condition for the timeout message, e.g. "cluster 'a' to have 2 hosts". */
  what: string;
  /** Defaults to 10 s. */
  timeoutMs?: number;
  /** Defaults to 50 ms. */
  intervalMs?: number;
}

/** /stats?format=json carries counters and gauges as numbers and text readouts (e.g. `*.version_text`) as strings. */
export type StatValue = number | string;

/** /config_dump output. Entries are the admin.v3 *ConfigDump messages (or, with `resource=`, their per-resource
 *  entries) in proto3 JSON, each tagged with "@type". Empty lists are omitted by Envoy; configDump() restores them. */
export interface ConfigDump {
  configs: Array<{ "@type": string; [field: string]: unknown }>;
}

export interface SocketAddress {
  address: string;
  port_value: number;
}

/** One endpoint in /clusters?format=json. Proto3 JSON: zero-valued stats have no `value`, and values are strings. */
export interface HostStatus {
  address?: { socket_address?: SocketAddress };
  stats?: Array<{ name: string; value?: string; type?: string }>;
  health_status?: { eds_health_status?: string; [flag: string]: unknown };
  weight?: number;
  locality?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface ClusterStatus {
  name: string;
  added_via_api?: boolean;
  host_statuses: HostStatus[];
  [field: string]: unknown;
}

export interface ClustersStatus {
  cluster_statuses: ClusterStatus[];
}

export interface ListenerStatus {
  name: string;
  local_address?: { socket_address?: SocketAddress };
  additional_local_addresses?: Array<{ socket_address?: SocketAddress }>;
}

export interface ListenersStatus {
  listener_statuses: ListenerStatus[];
}

export interface EnvoyHandle {
  readonly name: string;
  /** e.g. "http://127.0.0.1:40123", no trailing slash. */
  readonly adminUrl: string;
  /** Envoy's stdout and stderr. Deleted by stop() unless the harness reported a failure pointing at it or
   *  XDSD_KEEP_ENVOY_LOGS=1; kept files are pruned after a day. */
  readonly logPath: string;
  readonly pid: number;
  /** Resolves once the admin interface answers HTTP. */
  waitAdmin(timeoutMs?: number): Promise<void>;
  /** Resolves once /ready answers 200 (server state LIVE). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** GET on the admin interface, e.g. admin("/server_info"); any status is returned. */
  admin(path: string): Promise<{ status: number; body: string }>;
  configDump(resource?: string): Promise<ConfigDump>;
  clusters(): Promise<ClustersStatus>;
  listeners(): Promise<ListenersStatus>;
  /** Stats whose name matches the RE2 `filter`; all of them without one. */
  stats(filter?: string): Promise<Map<string, StatValue>>;
  /** One counter or gauge by exact name; undefined if Envoy has no such stat (yet). */
  stat(name: string): Promise<number | undefined>;
  /** One text readout (e.g. "cluster_manager.cds.version_text") by exact name. */
  textStat(name: string): Promise<string | undefined>;
  /** Polls `predicate` until it returns a truthy value, which is returned. On timeout, or if Envoy exits, throws
   *  an Error naming `what`, the last thing the predicate returned or threw, and Envoy's log tail. A predicate
   *  may throw to say why it is not satisfied yet; it must not hang (the admin readers time out after 5 s). */
  waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>>;
  /** The last `lines` lines Envoy printed. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 3 s. Always resolves; safe to call twice. */
  stop(): Promise<void>;
}

const ENVOY_VERSION = "1.40.0";
const STOP_GRACE_MS = 3_000;
const TAIL_LINES = 40;

/** The Envoy binary to test against: $ENVOY_BIN, else the one recorded by `npm run install-envoy`. Throws with
 *  instructions when there is none, so that a machine without Envoy fails the e2e tests instead of skipping them. */
export function findEnvoyBinary(): string {
  const fromEnv = process.env.ENVOY_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`ENVOY_BIN=${fromEnv} is not an executable file`);
    return resolve(fromEnv);
  }
  const pathFile = join(repoRoot(), ".tools", "envoy-path.txt");
  const recorded = existsSync(pathFile) ? readFileSync(pathFile, "utf8").trim() : "";
  if (recorded && isExecutable(recorded)) return recorded;
  throw new Error(
    `No Envoy ${ENVOY_VERSION} binary found (ENVOY_BIN is unset and ${pathFile} ` +
      (recorded ? `names ${recorded}, which is not executable` : "is missing") +
      "). Run `npm run install-envoy` to install one into .tools/, or set ENVOY_BIN.",
  );
}

// ---- the handle ------------------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` settles within `ms`. The timer is cleared either way: a pending 3 s timer would otherwise keep
 *  the test process alive after its last test. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** For timeout messages: what a polled check last produced. */
function describeOutcome(value: unknown): string {
  if (value instanceof Error) return `threw ${value.message}`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return `returned ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
}

/** Matches exactly one stat name in /stats?filter= (RE2). */
function exactFilter(name: string): string {
  return `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

class EnvoyProcess implements EnvoyHandle {
  readonly logPath: string;
  readonly pid: number;
  #adminUrl: string | undefined;
  #exit: ExitInfo | undefined;
  readonly #exited: Promise<void>;
  #stopped: Promise<void> | undefined;
  /** Set when an error pointing at logPath was raised, so the log is kept for whoever reads that error. */
  #reportedFailure = false;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly adminAddressPath: string,
  ) {
    this.logPath = join(dir, "envoy.log");
    this.pid = child.pid ?? -1;
    this.#exited = new Promise((resolve) => {
      const settle = (exit: ExitInfo): void => {
        this.#exit ??= exit;
        resolve();
      };
      child.once("exit", (code, signal) => settle({ code, signal }));
      // A failed spawn (ENOENT, EACCES) emits 'error' and maybe never 'exit'. Handling it here also keeps it from
      // crashing the test process as an unhandled 'error' event.
      child.once("error", (error) => settle({ code: null, signal: null, error }));
    });
  }

  get adminUrl(): string {
    if (!this.#adminUrl) throw new Error(`Envoy '${this.name}': adminUrl is known only after waitAdmin()`);
    return this.#adminUrl;
  }

  logTail(lines = TAIL_LINES): string {
    let fd: number | undefined;
    try {
      fd = openSync(this.logPath, "r");
      // Only the end of the file is read: a debug-level log can be many megabytes.
      const size = fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString("utf8").split("\n").filter(Boolean).slice(-lines).join("\n");
    } catch (err) {
      return `(no log: ${(err as Error).message})`;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** An Error carrying Envoy's state and log tail; every failure the harness raises goes through here. */
  #failure(message: string): Error {
    this.#reportedFailure = true;
    const exit = this.#exit;
    const state = !exit
      ? `running, pid ${this.pid}`
      : exit.error
        ? `failed to start: ${exit.error.message}`
        : `exited with code ${exit.code}, signal ${exit.signal}`;
    return new Error(`Envoy '${this.name}' (${state}): ${message}\n` + `--- last lines of ${this.logPath} ---\n${this.logTail()}\n--- end of Envoy log ---`);
  }

  async waitFor<T>(predicate: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let last: unknown = "nothing (never called)";
    for (;;) {
      // An Envoy that died will not change its mind: fail now with the reason rather than at the deadline.
      if (this.#exit) throw this.#failure(`exited while waiting for ${options.what}`);
      try {
        const value = await predicate();
        if (value) return value as NonNullable<T>;
        last = value;
      } catch (err) {
        last = err;
      }
      if (Date.now() >= deadline) {
        const outcome = describeOutcome(last);
        throw this.#failure(`timed out after ${timeoutMs} ms waiting for ${options.what}; the check last ${outcome}`);
      }
      await sleep(options.intervalMs ?? 50);
    }
  }

  async waitAdmin(timeoutMs = 20_000): Promise<void> {
    if (this.#adminUrl) return;
    this.#adminUrl = await this.waitFor(
      async () => {
        // Envoy writes the file once its admin listener is bound. Parse defensively: we may catch it mid-write.
        const address = existsSync(this.adminAddressPath) ? readFileSync(this.adminAddressPath, "utf8").trim() : "";
        if (!/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+$/i.test(address)) return undefined;
        const url = `http://${address}`;
        await httpGet(`${url}/server_info`, { timeoutMs: 2_000 });
        return url;
      },
      { what: "the admin interface to answer", timeoutMs },
    );
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.waitAdmin(timeoutMs);
    // /ready's body is the server state ("PRE_INITIALIZING", "LIVE"...), so the timeout message says where it stuck.
    await this.waitFor(
      async () => {
        const res = await this.admin("/ready");
        if (res.status !== 200) throw new Error(`HTTP ${res.status} ${res.body.trim()}`);
        return true;
      },
      { what: "/ready to answer 200", timeoutMs: Math.max(0, deadline - Date.now()) },
    );
  }

  async admin(path: string): Promise<{ status: number; body: string }> {
    const { status, body } = await httpGet(`${this.adminUrl}${path}`, { timeoutMs: 5_000 });
    return { status, body };
  }

  async #adminJson<T>(path: string): Promise<T> {
    const { status, body } = await this.admin(path);
    if (status !== 200) throw this.#failure(`GET ${path} answered ${status}: ${body.slice(0, 500)}`);
    return JSON.parse(body) as T;
  }

  async configDump(resource?: string): Promise<ConfigDump> {
    const query = resource ? `?resource=${encodeURIComponent(resource)}` : "";
    const dump = await this.#adminJson<Partial<ConfigDump>>(`/config_dump${query}`);
    return { configs: dump.configs ?? [] };
  }

  async clusters(): Promise<ClustersStatus> {
    type Raw = { cluster_statuses?: Array<{ name: string; host_statuses?: HostStatus[]; [field: string]: unknown }> };
    const raw = await this.#adminJson<Raw>("/clusters?format=json");
    return {
      cluster_statuses: (raw.cluster_statuses ?? []).map((c) => ({ ...c, host_statuses: c.host_statuses ?? [] })),
    };
  }

  async listeners(): Promise<ListenersStatus> {
    const raw = await this.#adminJson<Partial<ListenersStatus>>("/listeners?format=json");
    return { listener_statuses: raw.listener_statuses ?? [] };
  }

  async stats(filter?: string): Promise<Map<string, StatValue>> {
    const query = filter ? `&filter=${encodeURIComponent(filter)}` : "";
    // The array also holds one {"histograms": ...} element, which has no name and is skipped.
    type Raw = { stats?: Array<{ name?: string; value?: StatValue }> };
    const raw = await this.#adminJson<Raw>(`/stats?format=json${query}`);
    const result = new Map<string, StatValue>();
    for (const entry of raw.stats ?? []) {
      if (entry.name !== undefined) result.set(entry.name, entry.value ?? 0);
    }
    return result;
  }

  async #oneStat(name: string): Promise<StatValue | undefined> {
    return (await this.stats(exactFilter(name))).get(name);
  }

  async stat(name: string): Promise<number | undefined> {
    const value = await this.#oneStat(name);
    if (typeof value === "string") throw new Error(`stat ${name} is a text readout ("${value}"); use textStat()`);
    return value;
  }

  async textStat(name: string): Promise<string | undefined> {
    const value = await this.#oneStat(name);
    if (typeof value === "number") throw new Error(`stat ${name} is a counter or gauge (${value}); use stat()`);
    return value;
  }

  stop(): Promise<void> {
    // Memoized: concurrent or repeated calls (a test's own cleanup plus an after() hook) share one shutdown.
    this.#stopped ??= this.#shutDown();
    return this.#stopped;
  }

  async #shutDown(): Promise<void> {
    if (!this.#exit) {
      this.child.kill("SIGTERM");
      if (!(await settlesWithin(this.#exited, STOP_GRACE_MS))) {
        this.child.kill("SIGKILL");
        // SIGKILL cannot be ignored, but a process stuck in the kernel can take a moment; never hang a test on it.
        await settlesWithin(this.#exited, STOP_GRACE_MS);
      }
    }
    if (!this.#reportedFailure && process.env.XDSD_KEEP_ENVOY_LOGS !== "1") {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

let started = 0;
const KEEP_FAILED_RUNS_MS = 24 * 3600_000;

/** The parent of every run's temp dir, so logs kept after failures are easy to find. Runs older than a day are
 *  deleted here, or tests that fail on purpose (the harness's own) would pile up directories forever. */
function runsDir(): string {
  const parent = join(tmpdir(), "xdsd-envoy");
  mkdirSync(parent, { recursive: true });
  for (const entry of readdirSync(parent)) {
    const path = join(parent, entry);
    try {
      if (Date.now() - statSync(path).mtimeMs > KEEP_FAILED_RUNS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another test process pruned it first.
    }
  }
  return parent;
}

/**
 * Starts Envoy with `opts.bootstrapYaml` and resolves once its admin interface answers (or once /ready is 200 with
 * `waitFor: "ready"`). If Envoy exits or the wait times out, it is stopped and the returned promise rejects with its
 * log tail.
 *
 * Flags: --concurrency 1 (one worker keeps round robin deterministic and the footprint small), --drain-time-s 1 (LDS
 * removals and shutdown do not drag on), --disable-hot-restart. The last one replaces a per-process --base-id or
 * --use-dynamic-base-id: those only pick the name of the hot-restart shared-memory segment, which Envoy 1.40 leaves
 * behind in /dev/shm even after a clean SIGTERM exit; without hot restart there is no segment to share or leak.
 */
export async function startEnvoy(opts: StartEnvoyOptions): Promise<EnvoyHandle> {
  const bin = findEnvoyBinary();
  const name = opts.name ?? `envoy-${++started}`;
  const dir = mkdtempSync(join(runsDir(), `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}-`));
  const bootstrapPath = join(dir, "bootstrap.yaml");
  const adminAddressPath = join(dir, "admin-address.txt");
  writeFileSync(bootstrapPath, opts.bootstrapYaml);

  const args = [
    "--config-path",
    bootstrapPath,
    "--concurrency",
    "1",
    "--drain-time-s",
    "1",
    "--disable-hot-restart",
    "--admin-address-path",
    adminAddressPath,
    "--log-level",
    opts.logLevel ?? "warn",
    ...(opts.extraArgs ?? []),
  ];
  // Envoy writes straight into the log file rather than into pipes we would have to drain: a busy or paused event
  // loop (a debugger, a long synchronous test step) then cannot block Envoy's logging, and the log survives us.
  const logFd = openSync(join(dir, "envoy.log"), "a");
  let child: ChildProcess;
  try {
    const [command, argv] = withParentDeathSignal(bin, args);
    child = spawn(command, argv, { stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd); // the child has its own copy
  }
  trackChild(child);
  const envoy = new EnvoyProcess(name, child, dir, adminAddressPath);

  try {
    const timeoutMs = opts.startTimeoutMs ?? 20_000;
    if (opts.waitFor === "ready") await envoy.waitReady(timeoutMs);
    else await envoy.waitAdmin(timeoutMs);
  } catch (err) {
    await envoy.stop();
    throw err;
  }
  return envoy;
}
