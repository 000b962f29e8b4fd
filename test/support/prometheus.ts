// A real Prometheus server and promtool for the metrics tests. As with Envoy (envoy.ts), a missing binary is a
// failure that says how to get one, never a skip: `sudo node scripts/install-prometheus.mjs` (the CI's .ci/run runs
// it) installs Debian's package; PROMETHEUS_BIN and PROMTOOL_BIN point at others.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { httpGet } from "./http.js";
import { freePort } from "./ports.js";
import { isExecutable, repoRoot, trackChild, withParentDeathSignal } from "./processes.js";

const HOW_TO_INSTALL =
  "Run `sudo node scripts/install-prometheus.mjs` (it installs Debian's `prometheus` package, which has both; .ci/run does this), or set PROMETHEUS_BIN and PROMTOOL_BIN.";

/** `prometheus` or `promtool`: from its environment variable, else from PATH. Throws with instructions. */
export function findPrometheusTool(name: "prometheus" | "promtool"): string {
  const variable = name === "prometheus" ? "PROMETHEUS_BIN" : "PROMTOOL_BIN";
  const fromEnv = process.env[variable];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${variable}=${fromEnv} is not an executable file. ${HOW_TO_INSTALL}`);
    return fromEnv;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  throw new Error(`No ${name} binary found (${variable} is unset and there is none on PATH). ${HOW_TO_INSTALL}`);
}

/** `promtool check metrics` on an exposition: its exit code and what it said (nothing when the text is clean). */
export function promtoolCheckMetrics(exposition: string): { code: number | null; output: string } {
  const run = spawnSync(findPrometheusTool("promtool"), ["check", "metrics"], { input: exposition, encoding: "utf8", timeout: 30_000 });
  if (run.error) throw run.error;
  return { code: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusHandle {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** An instant query through the HTTP API (/api/v1/query); the samples of its vector result. */
  query(expr: string): Promise<PromSample[]>;
  /**
   * Queries `expr` every 500 ms until `accept` says yes for the samples, or throws after `timeoutMs` with the last
   * result and Prometheus's log (it says why a scrape failed).
   */
  waitFor(expr: string, accept: (samples: PromSample[]) => boolean, what: string, timeoutMs?: number): Promise<PromSample[]>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on a free loopback port, scraping each of `targets` (`host:port`, /metrics) every second,
 * with its data in a temp directory removed on stop(). Resolves once /-/ready answers 200.
 */
export async function startPrometheus(targets: string[], options: { jobName?: string; startTimeoutMs?: number } = {}): Promise<PrometheusHandle> {
  const bin = findPrometheusTool("prometheus");
  const dir = mkdtempSync(join(tmpdir(), "xdsd-prometheus-"));
  const configPath = join(dir, "prometheus.yml");
  writeFileSync(
    configPath,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ${JSON.stringify(options.jobName ?? "xdsd")}
    static_configs:
      - targets: ${JSON.stringify(targets)}
`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(dir, "prometheus.log");
  const logFd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    const [command, args] = withParentDeathSignal(bin, [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=info",
    ]);
    // Straight into a file, as with Envoy: nothing to drain, and the log outlives a failed test's pipes.
    child = spawn(command, args, { stdio: ["ignore", logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  trackChild(child);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once("error", () => resolve());
  });

  const logTail = (lines = 30): string => {
    try {
      return readFileSync(logPath, "utf8").split("\n").filter(Boolean).slice(-lines).join("\n");
    } catch (err) {
      return `(no log: ${(err as Error).message})`;
    }
  };
  const failure = (message: string): Error =>
    new Error(
      `Prometheus (${exited ? `exited with code ${exited.code}, signal ${exited.signal}` : `pid ${child.pid}`}): ${message}\n--- last lines of ${logPath} ---\n${logTail()}\n--- end ---`,
    );
  let stopped: Promise<void> | undefined;
  const handle: PrometheusHandle = {
    url,
    async query(expr) {
      const res = await httpGet(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, { timeoutMs: 5_000 });
      const body = JSON.parse(res.body) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (res.status !== 200 || body.status !== "success" || body.data?.resultType !== "vector") {
        throw new Error(`query ${expr} answered ${res.status}: ${res.body.slice(0, 500)}`);
      }
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async waitFor(expr, accept, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown = "nothing yet";
      for (;;) {
        if (exited) throw failure(`exited while waiting for ${what}`);
        try {
          const samples = await handle.query(expr);
          if (accept(samples)) return samples;
          last = samples;
        } catch (err) {
          last = (err as Error).message;
        }
        if (Date.now() >= deadline) throw failure(`timed out after ${timeoutMs} ms waiting for ${what} (${expr}); last result: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    logTail,
    stop() {
      stopped ??= (async () => {
        if (!exited) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exit;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      const error = failure("exited during startup");
      await handle.stop();
      throw error;
    }
    const ready = await httpGet(`${url}/-/ready`, { timeoutMs: 2_000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return handle;
    if (Date.now() >= deadline) {
      const error = failure("/-/ready did not answer 200 in time");
      await handle.stop();
      throw error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** examples/grafana-dashboard.json, parsed, and every PromQL expression in it (the `expr` of each target). */
export function dashboardExpressions(): { dashboard: Record<string, unknown>; exprs: string[] } {
  const dashboard = JSON.parse(readFileSync(join(repoRoot(), "examples", "grafana-dashboard.json"), "utf8")) as Record<string, unknown>;
  const exprs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "expr" && typeof x === "string") exprs.push(x);
        else walk(x);
      }
    }
  };
  walk(dashboard);
  return { dashboard, exprs };
}

/** A dashboard expression as Grafana would send it: its variables replaced (every instance, a 1-minute window). */
export function withDashboardVariables(expr: string): string {
  return expr.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*");
}
