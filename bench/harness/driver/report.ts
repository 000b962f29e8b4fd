// From raw run results to the figures of the issue: per server, the median and min–max spread over runs of each
// figure, as a markdown table with xdsd's ratios to go-control-plane and to the floor, then the issue's targets.
import { spread, type Spread } from "../lib/summary.js";
import type { Scenario } from "../scenarios.js";
import type { RunResult } from "./run-one.js";

interface Figure {
  label: string;
  get(r: RunResult): number | undefined;
  format(v: number): string;
  /** Only shown for scenarios where it means something. */
  when?(s: Scenario): boolean;
}

const ms = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
const kb = (v: number) => (v / 1024).toFixed(1);
const mb = (v: number) => (v / (1 << 20)).toFixed(1);
const count = (v: number) => v.toFixed(0);
const ratio = (v: number) => v.toFixed(2);
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
const hasUpdates = (s: Scenario) => s.fixture.steps > 0;
/** Updates the server took (open loop: a server may leave some unanswered); the per-update figures divide by these. */
const taken = (r: RunResult) => Math.max(1, (r.updates?.count ?? 0) - (r.updates?.notTaken ?? 0));
const anomalies = (r: RunResult) => {
  const a = r.loadgen?.anomalies as Record<string, number> | undefined;
  return a ? Object.values(a).reduce((x, y) => x + y, 0) : undefined;
};

export const figures: Figure[] = [
  { label: "full config, all clients (ms from first connect)", get: (r) => r.initial?.durationMs, format: ms },
  { label: "full config per client p50 (ms)", get: (r) => r.initial?.perClientMs.p50, format: ms },
  { label: "full config per client p99 (ms)", get: (r) => r.initial?.perClientMs.p99, format: ms },
  { label: "server CPU-s, connect phase", get: (r) => r.initial?.serverCpuS, format: (v) => v.toFixed(2) },
  { label: "event-loop delay p99, connect (ms)", get: (r) => r.initial?.serverEventLoopDelayP99Ms, format: ms },
  { label: "convergence p50 (ms)", get: (r) => r.updates?.convergenceMs.p50, format: ms, when: hasUpdates },
  { label: "convergence p99 (ms)", get: (r) => r.updates?.convergenceMs.p99, format: ms, when: hasUpdates },
  { label: "convergence max (ms)", get: (r) => r.updates?.convergenceMs.max, format: ms, when: hasUpdates },
  { label: "updates not converged", get: (r) => r.updates?.timedOut, format: count, when: hasUpdates },
  { label: "updates not applied (time budget)", get: (r) => r.updates?.skipped, format: count, when: (s) => hasUpdates(s) && s.pacing.mode === "sequential" },
  {
    label: "updates not taken (POST /step unanswered within the update timeout)",
    get: (r) => r.updates?.notTaken,
    format: count,
    when: (s) => s.pacing.mode === "rate",
  },
  { label: "server CPU per update (ms)", get: (r) => (r.updates ? (r.updates.serverCpuS * 1000) / taken(r) : undefined), format: ms, when: hasUpdates },
  // --replicas: the total above is the sum over the replicas; this is the busiest one's share of it.
  {
    label: "server CPU per update, busiest replica (ms)",
    get: (r) => (r.updates?.replicaCpuSPerUpdate ? Math.max(...r.updates.replicaCpuSPerUpdate) * 1000 : undefined),
    format: ms,
    when: hasUpdates,
  },
  { label: "bytes on the wire per update (kB)", get: (r) => (r.updates ? r.updates.bytesReceived / taken(r) : undefined), format: kb, when: hasUpdates },
  { label: "event-loop delay p99, updates (ms)", get: (r) => r.updates?.serverEventLoopDelayP99Ms, format: ms, when: hasUpdates },
  { label: "event-loop delay max, updates (ms)", get: (r) => r.updates?.serverEventLoopDelayMaxMs, format: ms, when: hasUpdates },
  { label: "offered update rate (/s)", get: (r) => r.updates?.offeredRatePerS, format: (v) => v.toFixed(2), when: (s) => s.pacing.mode === "rate" },
  {
    label: "sustained update rate, all clients (/s)",
    get: (r) => r.updates?.sustainedRatePerS,
    format: (v) => v.toFixed(2),
    when: (s) => s.pacing.mode === "rate",
  },
  { label: "POST /step answered p50 (ms)", get: (r) => r.updates?.stepAcceptedMs?.p50, format: ms, when: hasUpdates },
  { label: "RSS baseline (MB)", get: (r) => r.rss.baselineBytes, format: mb },
  { label: "RSS idle, all connected (MB)", get: (r) => r.rss.idleBytes, format: mb },
  { label: "RSS per idle stream (kB)", get: (r) => r.rss.perStreamIdleBytes, format: kb },
  { label: "RSS per stream after pushes (kB)", get: (r) => r.rss.perStreamAfterPushesBytes, format: kb, when: hasUpdates },
  { label: "RSS after disconnect / baseline", get: (r) => r.rss.disconnectRatio, format: ratio, when: (s) => s.measureDisconnect },
  { label: "RSS after disconnect and a forced GC / baseline", get: (r) => r.rss.disconnectGcRatio, format: ratio, when: (s) => s.measureDisconnect },
  {
    label: "heap in use after disconnect and a forced GC / baseline",
    get: (r) => r.rss.heapDisconnectGcRatio,
    format: ratio,
    when: (s) => s.measureDisconnect,
  },
  { label: "resources not byte-identical (same message)", get: (r) => r.loadgen?.encodingDiffs as number | undefined, format: count },
  { label: "resources matching no fixture version", get: (r) => r.loadgen?.mismatches as number | undefined, format: count },
  { label: "NACK-worthy anomalies", get: anomalies, format: count },
  { label: "errors", get: (r) => r.loadgen?.errors as number | undefined, format: count },
  { label: "disconnects", get: (r) => r.loadgen?.disconnects as number | undefined, format: count },
  { label: "generator CPU share, updates", get: (r) => r.updates?.loadgenCpuShare, format: pct, when: hasUpdates },
  {
    label: "generator CPU share while converging",
    get: (r) => r.updates?.loadgenCpuShareConverging,
    format: pct,
    when: (s) => hasUpdates(s) && s.pacing.mode === "sequential",
  },
  { label: "generator CPU share, connect", get: (r) => (r.initial ? r.initial.loadgenCpuS / r.initial.wallS : undefined), format: pct },
];

const serverNames: Record<string, string> = { xdsd: "xdsd (library)", daemon: "xdsd serve (daemon)", go: "go-control-plane", floor: "floor" };
/** The servers that are xdsd, each judged against the others. */
const subjects = ["xdsd", "daemon"];
const short: Record<string, string> = { xdsd: "xdsd", daemon: "serve", go: "go", floor: "floor" };

function cell(s: Spread, format: (v: number) => string): string {
  if (s.n === 0) return "–";
  if (s.n === 1 || s.min === s.max) return format(s.median);
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

export function aggregate(results: RunResult[], servers: string[]): Map<string, Map<string, Spread>> {
  const out = new Map<string, Map<string, Spread>>();
  for (const server of servers) {
    const runs = results.filter((r) => r.server === server && r.ok);
    out.set(server, new Map(figures.map((f) => [f.label, spread(runs.map((r) => f.get(r)))])));
  }
  return out;
}

export function markdown(scenario: Scenario, results: RunResult[], servers: string[], header: string): string {
  const agg = aggregate(results, servers);
  const cols = servers.map((s) => serverNames[s] ?? s);
  const ratios: [string, string][] = [];
  for (const a of subjects.filter((x) => servers.includes(x))) for (const b of ["go", "floor"].filter((x) => servers.includes(x))) ratios.push([a, b]);
  const lines = [
    `### Scenario ${scenario.id} — ${scenario.title}`,
    "",
    header,
    "",
    `| figure | ${cols.join(" | ")}${ratios.map(([a, b]) => ` | ${short[a]} / ${short[b]}`).join("")} |`,
    `|---|${cols.map(() => "---:").join("|")}${ratios.map(() => "|---:").join("")}|`,
  ];
  for (const f of figures) {
    if (f.when && !f.when(scenario)) continue;
    const spreads = servers.map((s) => agg.get(s)!.get(f.label)!);
    if (spreads.every((s) => s.n === 0)) continue;
    const r = (a: string, b: string) => {
      const x = agg.get(a)?.get(f.label)?.median;
      const y = agg.get(b)?.get(f.label)?.median;
      return x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) && y !== 0 ? (x / y).toFixed(2) : "–";
    };
    lines.push(`| ${f.label} | ${spreads.map((s) => cell(s, f.format)).join(" | ")}${ratios.map(([a, b]) => ` | ${r(a, b)}`).join("")} |`);
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) lines.push("", ...failed.map((r) => `- run ${r.run} ${r.server} FAILED: ${r.error}`));
  for (const subject of subjects.filter((x) => servers.includes(x))) lines.push("", ...targets(scenario, agg, subject));
  return lines.join("\n");
}

/** Issue 7's targets for this scenario, judged on medians for one xdsd subject; "n/a" when a needed server was not run. */
function targets(scenario: Scenario, agg: Map<string, Map<string, Spread>>, subject: string): string[] {
  const m = (server: string, label: string) => agg.get(server)?.get(label)?.median;
  const who = serverNames[subject];
  const judge = (name: string, label: string, other: string | number, factor: number) => {
    const a = m(subject, label);
    const b = typeof other === "number" ? other : m(other, label);
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return `- ${who}, target ${name}: n/a`;
    const f = figures.find((x) => x.label === label)?.format ?? ((v: number) => v.toFixed(2));
    return `- ${who}, target ${name}: ${a <= b * factor ? "MET" : "NOT MET"} (${f(a)} vs ${factor}× ${f(b)})`;
  };
  switch (scenario.id) {
    case "A":
      return [
        judge("convergence p99 ≤ 0.5× go", "convergence p99 (ms)", "go", 0.5),
        judge("CPU per update ≤ 0.5× go", "server CPU per update (ms)", "go", 0.5),
      ];
    case "C":
      return [
        judge("CPU per update ≤ 1.2× floor", "server CPU per update (ms)", "floor", 1.2),
        judge("convergence p99 ≤ 1.1× floor", "convergence p99 (ms)", "floor", 1.1),
      ];
    case "D": {
      const errs = (m(subject, "errors") ?? NaN) + (m(subject, "disconnects") ?? NaN) + (m(subject, "resources matching no fixture version") ?? NaN);
      // "Every client": also none lost before its config was complete (lost clients are counted as disconnects).
      return [
        `- ${who}, target every client full config, zero errors: ${Number.isFinite(errs) ? (errs === 0 ? "MET" : `NOT MET (${errs})`) : "n/a"}`,
        judge("time to full config ≤ 0.5× go", "full config, all clients (ms from first connect)", "go", 0.5),
        judge("RSS after disconnect within 10% of baseline", "RSS after disconnect / baseline", 1, 1.1),
      ];
    }
    case "E":
      return [judge("RSS per idle stream ≤ go", "RSS per idle stream (kB)", "go", 1)];
    default:
      return [];
  }
}
