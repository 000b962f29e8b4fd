// Scenario W, the daemon's write API measured end to end (harness/api-writes.ts): `node dist/bench/api-write.js
// [--clusters 500] [--endpoints 10] [--clients 1000] [--writes 50] [--wait acked|none] [--interval-ms 300] [--runs 1]
// [--object endpoint|cluster|listener] [--xdsd-args="…"]` after `npm run build`; `npm run bench -- --scenario W …`
// is the same.
import { parseArgs } from "node:util";
import { apiWriteOptions, measureApiWrites } from "./harness/api-writes.js";

const { values } = parseArgs({ options: apiWriteOptions });
await measureApiWrites(values);
// Each write's 10 s bound (a timer in harness/api-writes.ts) is still pending: the figures are out, exit now.
process.exit(0);
