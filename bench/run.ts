// The benchmark driver: `npm run bench -- --scenario A [--runs 5] [--servers xdsd,go,floor]`.
//
// For each scenario: generate its fixture, then measure each server `--runs` times, interleaved
// (harness/driver/run-loop.ts: one fresh server pinned to CPU 0 against one fresh load generator pinned to CPU 1
// per run). Prints a markdown table per scenario (medians and min–max over runs, xdsd's ratios to
// go-control-plane and to the floor, the issue's targets) and writes every raw figure to
// build/bench/results-<scenario>-<timestamp>.json (and the table beside it as .md).
//
// Options:
//   --scenario A|B|C|D|E|F|all --runs N (5)   --servers xdsd,go,floor (also: daemon)
//   --scenario W               one endpoint registered through the daemon's write API, 1,000 proxies: the
//                              measurement of api-write.ts, which takes its options (harness/api-writes.ts:
//                              --clients, --clusters, --writes, --runs, --wait, --store sqlite,etcd…) instead of these
//   --protocol sotw|delta      the ADS protocol the generator speaks: StreamAggregatedResources (default) or
//                              DeltaAggregatedResources; every server serves both on its one port
//   --clusters N               override the scenario's cluster count (F: 500; endpoint-scaling.ts sweeps it)
//   --replicas N               xdsd as N daemons on one 3-member etcd store (issue 20), the generator's connections
//                              spread over them, against one daemon on that store: servers daemon-etcd-x1 and
//                              daemon-etcd-xN replace --servers and --via; CPU per update is per replica and in total
//   --via library|daemon|library,daemon
//                              how xdsd is driven: as a library (harness/servers/xdsd-server.ts, the default), or as
//                              the daemon `xdsd serve` fed by atomic renames of its config file (daemon-server.ts);
//                              replaces "xdsd" in --servers
//   --rate R                   override a rate-paced scenario's updates per second (A: 10, B: 1)
//   --clients N                override the scenario's client count (scale down to try things out)
//   --steps N                  override the number of updates (A: 600, B: 60, C: 5)
//   --streams-per-connection K multiplex K proxies per HTTP/2 connection (default 1, like real proxies)
//   --verify bytes|sha256      how the generator checks byte identity (see harness/loadgen.ts)
//   --update-timeout-ms T      longest wait for one update to converge (60000)
//   --xdsd-args="..."          extra arguments for xdsd-server (e.g. --xdsd-args=--reuse-encoded)
//   --node-args="..."          extra node flags for the Node servers (e.g. --node-args="--cpu-prof --cpu-prof-dir=build/bench/prof";
//                              the "=" is needed because the value starts with a dash)
//   --go-args="..."            arguments for the Go reference instead of the scenario's expert setup
//                              (harness/scenarios.ts goReferenceArgs: LinearCache EDS for A and B, per-type versions everywhere)
//   --loadgen-node-args="..."  extra node flags for the load generator (profiling it)
import { join } from "node:path";
import { parseArgs } from "node:util";
import { apiWriteOptions, measureApiWrites } from "./harness/api-writes.js";
import { closeControlClients } from "./harness/lib/control-http.js";
import { writeFixture } from "./harness/lib/fixture-file.js";
import { fixtureFor, sizes } from "./harness/fixtures.js";
import { scenarios, type ScenarioId } from "./harness/scenarios.js";
import { markdown } from "./harness/driver/report.js";
import { hardFdLimit } from "./harness/driver/processes.js";
import { defaultOutDir, machine, machineLine, runInterleaved, startOutput, writeResults } from "./harness/driver/run-loop.js";
import { list, serverSpecs, words } from "./harness/driver/servers.js";
import { parseProtocol } from "./harness/loadgen/dialect.js";

// Scenario W measures the daemon's write API, which only xdsd has: its own measurement, with its own options.
const scenarioOption = { scenario: { type: "string", default: "A" } } as const;
if (parseArgs({ options: scenarioOption, strict: false }).values.scenario === "W") {
  const { values } = parseArgs({ options: { ...scenarioOption, ...apiWriteOptions } });
  await measureApiWrites(values);
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    ...scenarioOption,
    runs: { type: "string", default: "5" },
    servers: { type: "string", default: "xdsd,go,floor" },
    via: { type: "string", default: "library" },
    protocol: { type: "string", default: "sotw" },
    clusters: { type: "string" },
    rate: { type: "string" },
    clients: { type: "string" },
    steps: { type: "string" },
    replicas: { type: "string" },
    "streams-per-connection": { type: "string", default: "1" },
    verify: { type: "string", default: "bytes" },
    "update-timeout-ms": { type: "string", default: "60000" },
    "xdsd-args": { type: "string", default: "" },
    "node-args": { type: "string", default: "" },
    "go-args": { type: "string", default: "" },
    "loadgen-node-args": { type: "string", default: "" },
    out: { type: "string", default: defaultOutDir },
  },
});

const ids: ScenarioId[] = values.scenario === "all" ? (Object.keys(scenarios) as ScenarioId[]) : [values.scenario as ScenarioId];
for (const id of ids) if (!(id in scenarios)) throw new Error(`unknown scenario ${id} (A..F, W or all)`);
const runs = Math.max(1, Number(values.runs));
const protocol = parseProtocol(values.protocol);
const { outDir, logDir, startedAt, stamp } = startOutput(values.out!);

const serverOptions = { xdsdArgs: words(values["xdsd-args"]!), nodeArgs: words(values["node-args"]!), goArgs: words(values["go-args"]!) };
const replicas = values.replicas === undefined ? undefined : Number(values.replicas);
if (replicas !== undefined && !(Number.isInteger(replicas) && replicas >= 2)) throw new Error(`--replicas ${values.replicas}: a whole number ≥ 2`);
const specs =
  replicas === undefined
    ? serverSpecs({ servers: list(values.servers!), via: list(values.via!), ...serverOptions })
    : // One daemon on etcd, then N: the same store, so what differs is only the number of replicas.
      [1, replicas].map((n) => {
        const [daemon] = serverSpecs({ servers: ["daemon"], via: [], ...serverOptions });
        return { ...daemon, id: `daemon-etcd-x${n}`, args: [...daemon.args, "--replicas", String(n)] };
      });
if (specs.length === 0) throw new Error("no server to measure");

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

  const cells = specs.map((spec) => {
    const server = spec.id === "go" && values["go-args"] === "" ? { ...spec, args: [...scenario.goReferenceArgs] } : spec;
    return {
      label: `${server.id} ${server.args.filter((a) => a.startsWith("--")).join(" ")}`,
      scenario,
      server,
      options: {
        fixturePath,
        clients,
        steps: Math.min(steps, fixture.steps.length - 1),
        streamsPerConnection: perConnection,
        verify: values.verify === "sha256" ? ("sha256" as const) : ("bytes" as const),
        protocol,
        updateTimeoutMs: Number(values["update-timeout-ms"]),
        ratePerSecond: values.rate !== undefined ? Number(values.rate) : undefined,
      },
      tag: {},
    };
  });
  const results = await runInterleaved(cells, { runs, logDir, loadgenNodeArgs: words(values["loadgen-node-args"]!) });

  const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
  const header =
    `\`${command}\` — ${protocol === "delta" ? "delta xDS, " : ""}${runs} run(s), ${clients} clients, ${steps} updates` +
    (scenario.pacing.mode === "rate" ? ` offered at ${values.rate ?? scenario.pacing.perSecond}/s (open loop)` : "") +
    `, median (min–max); ${startedAt.toISOString()}, ${machineLine()}` +
    (specs.some((s) => s.id === "go") ? `; go-control-plane run with ${values["go-args"] || scenario.goReferenceArgs.join(" ") || "no flags"}.` : ".");
  const table = markdown(
    scenario,
    results,
    specs.map((s) => s.id),
    header,
  );
  writeResults(
    join(outDir, `results-${id}-${stamp}`),
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
      machine: machine(),
      results,
    },
    table,
  );
}
closeControlClients();
