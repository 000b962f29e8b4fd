// Writes a scenario's fixture (harness/fixtures.ts) to a file, in the format of bench/README.md — what the drivers
// hand to every server: `node dist/bench/write-fixture.js --scenario A|B|C|D|E|F [--steps N] --out FILE`.
import { parseArgs } from "node:util";
import { fixtureFor, sizes } from "./harness/fixtures.js";
import { writeFixture } from "./harness/lib/fixture-file.js";
import { scenarios, type ScenarioId } from "./harness/scenarios.js";

const { values } = parseArgs({ options: { scenario: { type: "string" }, steps: { type: "string" }, out: { type: "string" } } });
const id = (values.scenario ?? "") as ScenarioId;
if (!(id in scenarios) || !values.out) {
  console.error("usage: write-fixture.js --scenario A|B|C|D|E|F [--steps N] --out FILE");
  process.exit(2);
}
const fixture = fixtureFor(id, { steps: values.steps === undefined ? undefined : Number(values.steps) });
writeFixture(values.out, fixture);
console.log(JSON.stringify({ scenario: id, steps: fixture.steps.length, step0: sizes(fixture.steps[0]) }));
