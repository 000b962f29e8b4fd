// The run loop of the drivers (run.ts: a scenario against its servers; endpoint-scaling.ts: scenario F over sizes
// and protocols): every cell — a server under a scenario, with its fixture and protocol — measured `runs` times,
// interleaved (run 1 of every cell, then run 2…) so that drift of the machine spreads over all cells alike. Each
// measurement is a fresh server pinned to CPU 0 against a fresh load generator pinned to CPU 1 (run-one.ts), bounded
// by the scenario's timeouts; a failed one is recorded, not thrown. Also what the drivers share around the loop:
// where results go, the machine they were taken on, and writing them.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { harnessDir, repoRoot } from "../lib/paths.js";
import type { Scenario } from "../scenarios.js";
import { runOne, type RunOptions, type RunResult, type ServerSpec } from "./run-one.js";

/** Where results, fixtures and logs go unless `--out` says otherwise. */
export const defaultOutDir = join(repoRoot, "build", "bench");

export interface Cell<T extends object> {
  /** How the progress lines name it. */
  label: string;
  scenario: Scenario;
  server: ServerSpec;
  options: Omit<RunOptions, "run" | "logDir" | "loadgenArgs">;
  /** Added to each of its results (e.g. the cluster count), for the tables. */
  tag: T;
}

export type LoopResult<T extends object> = RunResult &
  T & {
    /**
     * The machine's 1-minute load average as the run ended. The server and the generator account for up to 2 of it
     * on a 2-core machine; more means other work shared the cores (CPU per update then reads high).
     */
    loadAverage1m: number;
  };

/** The output directory (its logs/ made), and the time the measurement started, also as a file-name stamp. */
export function startOutput(outDir: string): { outDir: string; logDir: string; startedAt: Date; stamp: string } {
  const logDir = join(outDir, "logs");
  mkdirSync(logDir, { recursive: true });
  if (cpus().length < 2) console.error("!!! fewer than 2 CPUs: server and generator share a core, figures are not comparable");
  const startedAt = new Date();
  return { outDir, logDir, startedAt, stamp: startedAt.toISOString().replace(/[:.]/g, "-") };
}

export interface LoopOptions {
  runs: number;
  logDir: string;
  /** Node flags for the load generator (profiling it). */
  loadgenNodeArgs?: readonly string[];
}

export async function runInterleaved<T extends object>(cells: readonly Cell<T>[], o: LoopOptions): Promise<LoopResult<T>[]> {
  const results: LoopResult<T>[] = [];
  for (let run = 1; run <= o.runs; run++) {
    for (const cell of cells) {
      console.error(`  run ${run}/${o.runs} ${cell.label}…`);
      const r = await runOne(cell.scenario, cell.server, {
        ...cell.options,
        run,
        logDir: o.logDir,
        loadgenArgs: [...(o.loadgenNodeArgs ?? []), join(harnessDir, "loadgen.js")],
      });
      const result = { ...r, ...cell.tag, loadAverage1m: loadavg()[0] };
      results.push(result);
      console.error(`    ${progressLine(result)}`);
    }
  }
  return results;
}

/** One run in a line, as it ends. */
function progressLine(r: LoopResult<object>): string {
  const u = r.updates;
  const perUpdate = u
    ? `, per update ${(u.bytesPerUpdate / 1024).toFixed(1)} kB, CPU ${(u.serverCpuSPerUpdate * 1000).toFixed(2)} ms, ` +
      `convergence p50/p99/max ${u.convergenceMs.p50.toFixed(1)}/${u.convergenceMs.p99.toFixed(1)}/${u.convergenceMs.max.toFixed(1)} ms, ` +
      `generator CPU ${(u.loadgenCpuShare * 100).toFixed(0)}%` +
      (u.replicaCpuSPerUpdate ? `, CPU per replica ${u.replicaCpuSPerUpdate.map((c) => (c * 1000).toFixed(2)).join("/")} ms` : "")
    : "";
  return (
    `${r.ok ? "ok" : `FAILED (${r.error})`} (load ${r.loadAverage1m.toFixed(2)}): full config ${r.initial?.durationMs?.toFixed(0)} ms${perUpdate}` +
    `, mismatches ${r.loadgen?.mismatches ?? "?"}, anomalies ${JSON.stringify(r.loadgen?.anomalies ?? {})}, errors ${r.loadgen?.errors ?? "?"}`
  );
}

/** The machine the figures were taken on, as the raw results record it. */
export function machine(): { cpus: number; model: string | undefined; kernel: string; node: string } {
  return { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version };
}

/** The machine and the pinning, as the tables' headers say it. */
export function machineLine(): string {
  const m = machine();
  return `${m.cpus}× ${m.model ?? "?"}, Linux ${m.kernel}, Node ${m.node}; server pinned to CPU 0, generator to CPU 1`;
}

/** Writes the raw results to `<base>.json` and the tables to `<base>.md`, and prints the tables on stdout. */
export function writeResults(base: string, raw: Record<string, unknown>, markdown: string): void {
  writeFileSync(`${base}.json`, JSON.stringify(raw, null, 1));
  writeFileSync(`${base}.md`, `${markdown}\n`);
  console.log(`${markdown}\n`);
  console.error(`raw results: ${base}.json`);
}
