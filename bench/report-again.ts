// Renders the tables of bench results again from their raw JSON (build/bench/results-*.json), with the report as it
// is now: `node dist/bench/report-again.js FILE.json...` (after `npm run build`). Prints markdown.
import { readFileSync } from "node:fs";
import { markdown } from "./harness/driver/report.js";
import type { RunResult, ServerSpec } from "./harness/driver/run-one.js";
import { scenarios, type ScenarioId } from "./harness/scenarios.js";

for (const file of process.argv.slice(2)) {
  const raw = JSON.parse(readFileSync(file, "utf8")) as {
    scenario: ScenarioId;
    command: string;
    startedAt: string;
    clients: number;
    steps: number;
    runs: number;
    /** Absent in results written before delta was measured: SotW. */
    protocol?: string;
    servers: ServerSpec[];
    goArgs: string;
    machine: { cpus: number; model: string; kernel: string; node: string };
    results: RunResult[];
  };
  const scenario = scenarios[raw.scenario];
  const header =
    `\`${raw.command}\` — ${raw.protocol === "delta" ? "delta xDS, " : ""}${raw.runs} run(s), ${raw.clients} clients, ${raw.steps} updates, median (min–max); ${raw.startedAt}, ` +
    `${raw.machine.cpus}× ${raw.machine.model}, Linux ${raw.machine.kernel}, Node ${raw.machine.node}; server pinned to CPU 0, generator to CPU 1` +
    (raw.servers.some((s) => s.id === "go") ? `; go-control-plane run with ${raw.goArgs || "no flags"}.` : ".");
  console.log(
    `${markdown(
      scenario,
      raw.results,
      raw.servers.map((s) => s.id),
      header,
    )}\n`,
  );
}
