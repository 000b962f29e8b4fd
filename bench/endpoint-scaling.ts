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
// CPU 0 and a fresh generator pinned to CPU 1 (harness/driver/run-loop.ts, the loop run.ts uses too), bounded by
// the scenario's timeouts. Prints the tables (median and min–max over runs) and writes
// build/bench/results-F-scaling-<time>.{json,md}.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { closeControlClients } from "./harness/lib/control-http.js";
import { writeFixture } from "./harness/lib/fixture-file.js";
import { spread, type Spread } from "./harness/lib/summary.js";
import { fixtureFor, sizes } from "./harness/fixtures.js";
import { scenarios } from "./harness/scenarios.js";
import type { RunResult } from "./harness/driver/run-one.js";
import { defaultOutDir, machine, machineLine, runInterleaved, startOutput, writeResults, type LoopResult } from "./harness/driver/run-loop.js";
import { list, serverSpecs } from "./harness/driver/servers.js";
import { parseProtocol, type Protocol } from "./harness/loadgen/dialect.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    clusters: { type: "string", default: "50,500,5000" },
    servers: { type: "string", default: "xdsd,go,floor" },
    protocols: { type: "string", default: "sotw,delta" },
    clients: { type: "string" },
    steps: { type: "string" },
    "update-timeout-ms": { type: "string", default: "60000" },
    // Flags for xdsd's bench server, e.g. --xdsd-args=--update (harness/servers/xdsd-server.ts: snapshot.update per step).
    "xdsd-args": { type: "string", default: "" },
    out: { type: "string", default: defaultOutDir },
  },
});

const scenario = scenarios.F;
const runs = Math.max(1, Number(values.runs));
const clusterCounts = list(values.clusters!).map(Number);
const protocols: Protocol[] = list(values.protocols!).map(parseProtocol);
const clients = values.clients !== undefined ? Number(values.clients) : scenario.clients;
const steps = values.steps !== undefined ? Number(values.steps) : scenario.fixture.steps;
const { outDir, logDir, startedAt, stamp } = startOutput(values.out!);

const specs = serverSpecs({
  servers: list(values.servers!),
  via: ["library"],
  xdsdArgs: list(values["xdsd-args"]!),
  nodeArgs: [],
  goArgs: [],
}).map((s) => (s.id === "go" ? { ...s, args: [...scenario.goReferenceArgs] } : s));
if (specs.length === 0) throw new Error("no server to measure");

const fixtures = clusterCounts.map((clusters) => {
  const fixture = fixtureFor("F", { steps, clusters });
  const path = join(outDir, `fixture-F-steps${steps}-clusters${clusters}.json`);
  writeFixture(path, fixture);
  const step0 = sizes(fixture.steps[0]);
  console.error(`clusters ${clusters}: step 0 ${JSON.stringify(step0)}; ${path}`);
  return { clusters, path, step0, updates: Math.min(steps, fixture.steps.length - 1) };
});

// Cells: every size, in every protocol, against every server.
const cells = fixtures.flatMap((f) =>
  protocols.flatMap((protocol) =>
    specs.map((server) => ({
      label: `${f.clusters} clusters ${protocol} ${server.id}`,
      scenario,
      server,
      options: {
        fixturePath: f.path,
        clients,
        steps: f.updates,
        streamsPerConnection: 1,
        verify: "bytes" as const,
        protocol,
        variant: `-${f.clusters}`,
        updateTimeoutMs: Number(values["update-timeout-ms"]),
      },
      tag: { clusters: f.clusters },
    })),
  ),
);
const results: LoopResult<{ clusters: number }>[] = await runInterleaved(cells, { runs, logDir });
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
function table(
  title: string,
  get: (r: (typeof results)[number]) => number | undefined,
  format: (v: number) => string,
  over: "median" | "sum" = "median",
): string[] {
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
    `an update at a time), median (min–max) over runs; ${startedAt.toISOString()}, ${machineLine()}; ` +
    `go-control-plane run with ${scenario.goReferenceArgs.join(" ")}.`,
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
    (r) => r.loadAverage1m,
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
writeResults(
  join(outDir, `results-F-scaling-${stamp}`),
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
    machine: machine(),
    results,
  },
  lines.join("\n"),
);
