// The benchmark driver: `npm run bench -- --scenario A [--runs 5] [--servers xdsd,go,floor]`.
//
// For each scenario: generate its fixture, then for each run and each server in turn (interleaved, so that drift
// of the machine spreads over all servers alike) measure one fresh server process pinned to CPU 0 against one
// fresh load generator pinned to CPU 1 (driver/run-one.ts). Prints a markdown table per scenario (medians and
// min–max over runs, xdsd's ratios to go-control-plane and to the floor, the issue's targets) and writes every
// raw figure to build/bench/results-<scenario>-<timestamp>.json (and the table beside it as .md).
//
// Options:
//   --scenario A|B|C|D|E|F|all --runs N (5)   --servers xdsd,go,floor (also: daemon)
//   --scenario W               one endpoint registered through the daemon's write API, 1,000 proxies: runs
//                              api-write.ts (its options: --clients, --clusters, --writes, --runs, --wait)
//   --protocol sotw|delta      the ADS protocol the generator speaks: StreamAggregatedResources (default) or
//                              DeltaAggregatedResources; every server serves both on its one port
//   --clusters N               override the scenario's cluster count (F: 500; endpoint-scaling.ts sweeps it)
//   --via library|daemon|library,daemon
//                              how xdsd is driven: as a library (bench/servers/xdsd-server.ts, the default), or as
//                              the daemon `xdsd serve` fed by atomic renames of its config file (daemon-server.ts);
//                              replaces "xdsd" in --servers
//   --rate R                   override a rate-paced scenario's updates per second (A: 10, B: 1)
//   --clients N                override the scenario's client count (scale down to try things out)
//   --steps N                  override the number of updates (A: 600, B: 60, C: 5)
//   --streams-per-connection K multiplex K proxies per HTTP/2 connection (default 1, like real proxies)
//   --verify bytes|sha256      how the generator checks byte identity (see loadgen.ts)
//   --update-timeout-ms T      longest wait for one update to converge (60000)
//   --xdsd-args="..."          extra arguments for xdsd-server (e.g. --xdsd-args=--reuse-encoded)
//   --node-args="..."          extra node flags for the Node servers (e.g. --node-args="--cpu-prof --cpu-prof-dir=build/bench/prof";
//                              the "=" is needed because the value starts with a dash)
//   --go-args="..."            arguments for the Go reference instead of the scenario's expert setup
//                              (scenarios.ts goReferenceArgs: LinearCache EDS for A and B, per-type versions everywhere)
//   --loadgen-node-args="..."  extra node flags for the load generator (profiling it)
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { closeControlClients } from "./lib/control-http.js";
import { writeFixture } from "./lib/fixture-file.js";
import { fixtureFor, sizes } from "./fixtures.js";
import { scenarios, type ScenarioId } from "./scenarios.js";
import { markdown } from "./driver/report.js";
import { runOne, type RunResult } from "./driver/run-one.js";
import { hardFdLimit } from "./driver/processes.js";
import { list, serverSpecs, words } from "./driver/servers.js";
import { parseProtocol } from "./loadgen/dialect.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = resolve(here, "..", "..");

// Scenario W measures the daemon's write API, which only xdsd has: its own measurement (api-write.ts), run as is.
if (process.argv.includes("--scenario=W") || process.argv[process.argv.indexOf("--scenario") + 1] === "W") {
  const args = process.argv.slice(2).filter((a, i, all) => a !== "--scenario=W" && !(a === "W" && all[i - 1] === "--scenario") && a !== "--scenario");
  const { status } = spawnSync(process.execPath, [join(here, "api-write.js"), ...args], { stdio: "inherit" });
  process.exit(status ?? 1);
}

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "A" },
    runs: { type: "string", default: "5" },
    servers: { type: "string", default: "xdsd,go,floor" },
    via: { type: "string", default: "library" },
    protocol: { type: "string", default: "sotw" },
    clusters: { type: "string" },
    rate: { type: "string" },
    clients: { type: "string" },
    steps: { type: "string" },
    "streams-per-connection": { type: "string", default: "1" },
    verify: { type: "string", default: "bytes" },
    "update-timeout-ms": { type: "string", default: "60000" },
    "xdsd-args": { type: "string", default: "" },
    "node-args": { type: "string", default: "" },
    "go-args": { type: "string", default: "" },
    "loadgen-node-args": { type: "string", default: "" },
    out: { type: "string", default: join(root, "build", "bench") },
  },
});

const ids: ScenarioId[] = values.scenario === "all" ? (Object.keys(scenarios) as ScenarioId[]) : [values.scenario as ScenarioId];
for (const id of ids) if (!(id in scenarios)) throw new Error(`unknown scenario ${id} (A..F or all)`);
const runs = Math.max(1, Number(values.runs));
const protocol = parseProtocol(values.protocol);
const outDir = values.out!;
const logDir = join(outDir, "logs");
mkdirSync(logDir, { recursive: true });

if (cpus().length < 2) console.error("!!! fewer than 2 CPUs: server and generator share a core, figures are not comparable");

const specs = serverSpecs({
  distBench: here,
  root,
  servers: list(values.servers!),
  via: list(values.via!),
  xdsdArgs: words(values["xdsd-args"]!),
  nodeArgs: words(values["node-args"]!),
  goArgs: words(values["go-args"]!),
});
if (specs.length === 0) throw new Error("no server to measure");
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, "-");

for (const id of ids) {
  const scenario = scenarios[id];
  const steps = values.steps !== undefined ? Number(values.steps) : scenario.fixture.steps;
  const clients = values.clients !== undefined ? Number(values.clients) : scenario.clients;
  const perConnection = Number(values["streams-per-connection"]);
  const fds = hardFdLimit();
  // One socket per connection on each side, plus files, pipes and the control sockets.
  if (Math.ceil(clients / perConnection) + 256 > fds) {
    console.error(
      `!!! scenario ${id}: ${clients} connections need ~${Math.ceil(clients / perConnection) + 256} file descriptors per process, the hard limit is ${fds}; ` +
        `use --streams-per-connection ${Math.ceil(clients / (fds - 256))} or raise the limit`,
    );
    continue;
  }
  const clusters = values.clusters !== undefined ? Number(values.clusters) : scenario.fixture.clusters;
  const fixture = fixtureFor(id, { steps, clusters });
  const fixturePath = join(outDir, `fixture-${id}-steps${steps}${clusters !== scenario.fixture.clusters ? `-clusters${clusters}` : ""}.json`);
  writeFixture(fixturePath, fixture);
  const fixtureSizes = sizes(fixture.steps[0]);
  console.error(`scenario ${id}: ${clients} clients, ${steps} updates, step 0 ${JSON.stringify(fixtureSizes)}; fixture ${fixturePath}`);

  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const spec of specs) {
      const server = spec.id === "go" && values["go-args"] === "" ? { ...spec, args: [...scenario.goReferenceArgs] } : spec;
      console.error(`  run ${run}/${runs} ${server.id} ${server.args.filter((a) => a.startsWith("--")).join(" ")}…`);
      const r = await runOne(scenario, server, {
        fixturePath,
        clients,
        steps: Math.min(steps, fixture.steps.length - 1),
        streamsPerConnection: perConnection,
        verify: values.verify === "sha256" ? "sha256" : "bytes",
        protocol,
        logDir,
        run,
        loadgenArgs: [...words(values["loadgen-node-args"]!), join(here, "loadgen.js")],
        updateTimeoutMs: Number(values["update-timeout-ms"]),
        ratePerSecond: values.rate !== undefined ? Number(values.rate) : undefined,
      });
      results.push(r);
      const u = r.updates;
      console.error(
        `    ${r.ok ? "ok" : "FAILED"}: full config ${r.initial?.durationMs?.toFixed(0)} ms` +
          (u
            ? `, convergence p50/p99/max ${u.convergenceMs.p50.toFixed(1)}/${u.convergenceMs.p99.toFixed(1)}/${u.convergenceMs.max.toFixed(1)} ms, CPU/update ${(u.serverCpuSPerUpdate * 1000).toFixed(1)} ms, generator CPU ${(u.loadgenCpuShare * 100).toFixed(0)}%`
            : "") +
          `, mismatches ${r.loadgen?.mismatches ?? "?"}, errors ${r.loadgen?.errors ?? "?"}`,
      );
    }
  }

  const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
  const header =
    `\`${command}\` — ${protocol === "delta" ? "delta xDS, " : ""}${runs} run(s), ${clients} clients, ${steps} updates` +
    (scenario.pacing.mode === "rate" ? ` offered at ${values.rate ?? scenario.pacing.perSecond}/s (open loop)` : "") +
    `, median (min–max); ${startedAt.toISOString()}, ` +
    `${cpus().length}× ${cpus()[0]?.model ?? "?"}, Linux ${release()}, Node ${process.version}; server pinned to CPU 0, generator to CPU 1` +
    (specs.some((s) => s.id === "go") ? `; go-control-plane run with ${values["go-args"] || scenario.goReferenceArgs.join(" ") || "no flags"}.` : ".");
  const table = markdown(
    scenario,
    results,
    specs.map((s) => s.id),
    header,
  );
  const base = join(outDir, `results-${id}-${stamp}`);
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      {
        scenario: id,
        command,
        startedAt,
        clients,
        clusters,
        steps,
        runs,
        protocol,
        servers: specs,
        goArgs: values["go-args"] || scenario.goReferenceArgs.join(" "),
        fixture: { path: fixturePath, step0: fixtureSizes },
        machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version },
        results,
      },
      null,
      1,
    ),
  );
  writeFileSync(`${base}.md`, `${table}\n`);
  console.log(`${table}\n`);
  console.error(`raw results: ${base}.json`);
}
closeControlClients();
