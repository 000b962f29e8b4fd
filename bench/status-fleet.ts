// `xdsd status --version V` over a fleet (issue 21): `node dist/bench/status-fleet.js [--clients 2000] [--clusters 20]
// [--runs 5] [--cli PATH…]` (after `npm run build`). Runs the real `xdsd serve` (pinned to CPU 0 with taskset when
// present) on a config of scenario A's shape, connects N ADS clients that ACK at once (bench/harness/lib/eds-clients.ts,
// in this process), then times the command with the served config version — every proxy concerned, each one's diff
// read — `runs` times per CLI, interleaved. `--cli` adds another build's bin/xdsd.js to compare against this one's,
// run against the same daemon (an older CLI reads the diffs its own way: one GET /nodes/{node} per node).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { shortFormConfig } from "./harness/lib/daemon-config.js";
import { describe, startBenchDaemon } from "./harness/lib/daemon-process.js";
import { connectEdsClients } from "./harness/lib/eds-clients.js";
import { repoRoot } from "./harness/lib/paths.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "2000" },
    clusters: { type: "string", default: "20" },
    runs: { type: "string", default: "5" },
    cli: { type: "string", multiple: true, default: [] },
  },
});
const clientCount = Number(values.clients);
const clusters = Number(values.clusters);
const runs = Number(values.runs);
const clis = [join(repoRoot, "bin", "xdsd.js"), ...values.cli];

const dir = mkdtempSync(join(tmpdir(), "xdsd-status-bench-"));
const configPath = join(dir, "xdsd.yaml");
writeFileSync(configPath, shortFormConfig(clusters, 2, 0));
const daemon = await startBenchDaemon(["--config", configPath, "--data-dir", join(dir, "data")]);
const names = Array.from({ length: clusters }, (_, i) => `c${i}`);
const clients = await connectEdsClients(daemon.xdsPort, clientCount, names);
const admin = `http://127.0.0.1:${daemon.adminPort}`;
await new Promise((r) => setTimeout(r, 2000)); // the last ACKs reach the daemon
const version = ((await (await fetch(`${admin}/config`)).json()) as { config: { version: string } }).config.version;

const times = new Map<string, number[]>(clis.map((c) => [c, []]));
for (let run = 0; run < runs; run++) {
  for (const cli of clis) {
    const started = performance.now();
    const out = execFileSync(process.execPath, [cli, "status", `--version=${version}`, "--admin", admin], { encoding: "utf8" });
    times.get(cli)!.push(performance.now() - started);
    if (!out.startsWith(`${version} (the config being served): ${clientCount} of ${clientCount} proxies hold it`))
      throw new Error(`unexpected answer: ${out.slice(0, 200)}`);
  }
}
console.log(`${clientCount} proxies, ${clusters} clusters each; xdsd status --version (the served config), ${runs} runs per CLI:`);
for (const [cli, t] of times) console.log(`  ${cli}: ${describe(t, 0)} ms`);
clients.close();
await daemon.stop();
