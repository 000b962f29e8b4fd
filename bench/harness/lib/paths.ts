// Where the bench's parts are once compiled, found from this file (dist/bench/harness/lib/paths.js): the entry
// scripts start the harness's processes (servers, load generator) and the daemon (bin/xdsd.js) by path.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** dist/bench/harness: the compiled harness (servers/, loadgen.js). */
export const harnessDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The repository root (bin/xdsd.js, bench/reference, build/bench). */
export const repoRoot = resolve(harnessDir, "..", "..", "..");
