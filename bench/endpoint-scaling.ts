// One endpoint change as the config grows (issue 9, "Benchmark"): scenario F at several cluster counts, in both
// ADS protocols, against each server; per update, the bytes the server put on the generator's streams and the
// server's CPU. What a server does per update should depend on what changed (one endpoint of one cluster), not on
// the clusters it did not change.
//
//   npm run build && node dist/bench/endpoint-scaling.js [--runs 3] [--clusters 50,500,5000]
//        [--servers xdsd,go,floor] [--protocols sotw,delta] [--clients 100] [--steps 50] [--update-timeout-ms 60000]
//        [--xdsd-args=--update]
//
// Runs are interleaved (run 1 of every size, protocol and server, then run 2…), each a fresh server pinned to
// CPU 0 and a fresh generator pinned to CPU 1 (driver/run-one.ts), bounded by the scenario's timeouts. Prints the
// tables (median and min–max over runs) and writes build/bench/results-F-scaling-<time>.{json,md}.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { closeControlClients } from "./lib/control-http.js";
import { writeFixture } from "./lib/fixture-file.js";
import { spread, type Spread } from "./lib/summary.js";
import { fixtureFor, sizes } from "./fixtures.js";
import { scenarios } from "./scenarios.js";
import { runOne, type RunResult } from "./driver/run-one.js";
import { list, serverSpecs } from "./driver/servers.js";
import { parseProtocol, type Protocol } from "./loadgen/dialect.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = resolve(here, "..", "..");

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    clusters: { type: "string", default: "50,500,5000" },
    servers: { type: "string", default: "xdsd,go,floor" },
    protocols: { type: "string", default: "sotw,delta" },
    clients: { type: "string" },
    steps: { type: "string" },
    "update-timeout-ms": { type: "string", default: "60000" },
    // Flags for xdsd's bench server, e.g. --xdsd-args=--update (servers/xdsd-server.ts: snapshot.update per step).
    "xdsd-args": { type: "string", default: "" },
    out: { type: "string", default: join(root, "build", "bench") },
  },
});

const scenario = scenarios.F;
const runs = Math.max(1, Number(values.runs));
const clusterCounts = list(values.clusters!).map(Number);
const protocols: Protocol[] = list(values.protocols!).map(parseProtocol);
const clients = values.clients !== undefined ? Number(values.clients) : scenario.clients;
const steps = values.steps !== undefined ? Number(values.steps) : scenario.fixture.steps;
const outDir = values.out!;
const logDir = join(outDir, "logs");
mkdirSync(logDir, { recursive: true });
if (cpus().length < 2) console.error("!!! fewer than 2 CPUs: server and generator share a core, figures are not comparable");

const specs = serverSpecs({
  distBench: here,
  root,
  servers: list(values.servers!),
  via: ["library"],
  xdsdArgs: list(values["xdsd-args"]!),
  nodeArgs: [],
  goArgs: [],
}).map((s) => (s.id === "go" ? { ...s, args: [...scenario.goReferenceArgs] } : s));
if (specs.length === 0) throw new Error("no server to measure");
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, "-");

const fixtures = clusterCounts.map((clusters) => {
  const fixture = fixtureFor("F", { steps, clusters });
  const path = join(outDir, `fixture-F-steps${steps}-clusters${clusters}.json`);
  writeFixture(path, fixture);
  const step0 = sizes(fixture.steps[0]);
  console.error(`clusters ${clusters}: step 0 ${JSON.stringify(step0)}; ${path}`);
  return { clusters, path, step0, updates: Math.min(steps, fixture.steps.length - 1) };
});

interface ScalingResult extends RunResult {
  clusters: number;
  /**
   * The machine's 1-minute load average as the run ended. The server and the generator account for up to 2 of it
   * on this 2-core machine; more means other work shared the cores (CPU per update then reads high).
   */
  loadAverage1m: number;
}
const results: ScalingResult[] = [];
for (let run = 1; run <= runs; run++) {
  for (const f of fixtures) {
    for (const protocol of protocols) {
      for (const server of specs) {
        console.error(`  run ${run}/${runs} ${f.clusters} clusters ${protocol} ${server.id}…`);
        const r = await runOne(scenario, server, {
          fixturePath: f.path,
          clients,
          steps: f.updates,
          streamsPerConnection: 1,
          verify: "bytes",
          protocol,
          logDir,
          variant: `-${f.clusters}`,
          run,
          loadgenArgs: [join(here, "loadgen.js")],
          updateTimeoutMs: Number(values["update-timeout-ms"]),
        });
        results.push({ ...r, clusters: f.clusters, loadAverage1m: loadavg()[0] });
        const u = r.updates;
        console.error(
          `    ${r.ok ? "ok" : `FAILED (${r.error})`} (load ${loadavg()[0].toFixed(2)}): full config ${r.initial?.durationMs?.toFixed(0)} ms` +
            (u
              ? `, per update ${(u.bytesPerUpdate / 1024).toFixed(1)} kB, CPU ${(u.serverCpuSPerUpdate * 1000).toFixed(2)} ms, convergence p50 ${u.convergenceMs.p50.toFixed(1)} ms`
              : "") +
            `, mismatches ${r.loadgen?.mismatches ?? "?"}, anomalies ${JSON.stringify(r.loadgen?.anomalies ?? {})}, errors ${r.loadgen?.errors ?? "?"}`,
        );
      }
    }
  }
}
closeControlClients();

// Columns: every server in every protocol; rows: cluster counts.
const columns = specs.flatMap((s) => protocols.map((protocol) => ({ server: s.id, protocol })));
const names: Record<string, string> = { xdsd: "xdsd", go: "go-control-plane", floor: "floor" };
const label = (c: { server: string; protocol: Protocol }) => `${names[c.server] ?? c.server} ${c.protocol === "delta" ? "delta" : "SotW"}`;
const ofCell = (clusters: number, c: { server: string; protocol: Protocol }) =>
  results.filter((r) => r.ok && r.clusters === clusters && r.server === c.server && r.protocol === c.protocol);
const cell = (s: Spread, format: (v: number) => string) =>
  s.n === 0 ? "–" : s.n === 1 || s.min === s.max ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;

/** One row per cluster count, one column per server and protocol: the median (min–max) over runs, or their sum. */
function table(title: string, get: (r: RunResult) => number | undefined, format: (v: number) => string, over: "median" | "sum" = "median"): string[] {
  const summarize = (values: (number | undefined)[]) => {
    if (over === "median") return cell(spread(values), format);
    const finite = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    return finite.length === 0 ? "–" : format(finite.reduce((a, b) => a + b, 0));
  };
  return [
    `**${title}**`,
    "",
    `| clusters (endpoints) | ${columns.map(label).join(" | ")} |`,
    `|---:|${columns.map(() => "---:").join("|")}|`,
    ...fixtures.map(
      (f) =>
        `| ${f.clusters.toLocaleString("en")} (${(f.step0.ClusterLoadAssignment?.count ?? 0) * scenario.fixture.endpointsPerCluster}) | ${columns
          .map((c) => summarize(ofCell(f.clusters, c).map(get)))
          .join(" | ")} |`,
    ),
    "",
  ];
}
const kb = (v: number) => (v / 1024).toFixed(1);
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const sum = (r: RunResult, key: string) => {
  const v = r.loadgen?.[key];
  return typeof v === "number" ? v : typeof v === "object" && v ? Object.values(v as Record<string, number>).reduce((a, b) => a + b, 0) : NaN;
};
const command = `node dist/bench/endpoint-scaling.js ${process.argv.slice(2).join(" ")}`.trim();
const lines = [
  `### F — ${scenario.title.replace(/ \(500 unless --clusters\)/, "")}`,
  "",
  `\`${command}\` — ${runs} run(s) per cell, ${clients} clients, ${steps} updates per run (one endpoint of one cluster each, ` +
    `an update at a time), median (min–max) over runs; ${startedAt.toISOString()}, ${cpus().length}× ${cpus()[0]?.model ?? "?"}, ` +
    `Linux ${release()}, Node ${process.version}; server pinned to CPU 0, generator to CPU 1; go-control-plane run with ${scenario.goReferenceArgs.join(" ")}.`,
  "",
  ...table("bytes on the wire per update, all clients (kB: gRPC messages received by the generator)", (r) => r.updates?.bytesPerUpdate, kb),
  ...table("server CPU per update (ms, user + system)", (r) => (r.updates ? r.updates.serverCpuSPerUpdate * 1000 : undefined), ms),
  ...table("convergence per update, p50 (ms, until the last client ACKed)", (r) => r.updates?.convergenceMs.p50, ms),
  ...table(
    "full config, all clients (ms from first connect)",
    (r) => r.initial?.durationMs,
    (v) => v.toFixed(0),
  ),
  ...table(
    "1-minute load average as the run ended (server + generator ≈ 2 of it; more: other work on the machine)",
    (r) => (r as ScalingResult).loadAverage1m,
    (v) => v.toFixed(2),
  ),
  ...table(
    "checks, summed over runs: resources matching no fixture version + anomalies + errors + updates not converged",
    (r) => sum(r, "mismatches") + sum(r, "anomalies") + sum(r, "errors") + (r.updates?.timedOut ?? NaN),
    (v) => v.toFixed(0),
    "sum",
  ),
];
const failed = results.filter((r) => !r.ok);
if (failed.length) lines.push(...failed.map((r) => `- run ${r.run} ${r.clusters} clusters ${r.protocol} ${r.server} FAILED: ${r.error}`));
const markdown = lines.join("\n");
const base = join(outDir, `results-F-scaling-${stamp}`);
writeFileSync(
  `${base}.json`,
  JSON.stringify(
    {
      scenario: "F",
      command,
      startedAt,
      clients,
      steps,
      runs,
      clusterCounts,
      protocols,
      servers: specs,
      goArgs: scenario.goReferenceArgs.join(" "),
      fixtures,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version },
      results,
    },
    null,
    1,
  ),
);
writeFileSync(`${base}.md`, `${markdown}\n`);
console.log(markdown);
console.error(`raw results: ${base}.json`);
