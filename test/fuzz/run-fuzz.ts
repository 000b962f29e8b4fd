// `npm run fuzz [-- --seed N --scale N --probe-seconds N]`: the daemon fuzz run, longer and with more of each probe
// than the bounded one in `npm test`. Prints the counts per probe and RSS; exits 1 if the daemon did not survive.
import { parseArgs } from "node:util";
import { describeRun, fuzzRun } from "./fuzz-run.js";

const { values } = parseArgs({
  options: { seed: { type: "string" }, scale: { type: "string", default: "10" }, "probe-seconds": { type: "string", default: "60" } },
});
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
try {
  const result = await fuzzRun({ seed, scale: Number(values.scale), probeMs: Number(values["probe-seconds"]) * 1000 });
  console.log(describeRun(result));
} catch (err) {
  console.error(`fuzz run with seed ${seed} failed (replay: npm run fuzz -- --seed ${seed}):\n${(err as Error).stack}`);
  process.exitCode = 1;
}
