// A change through the daemon, end to end: `node dist/bench/daemon-update.js [--clusters 500] [--endpoints 10]
// [--clients 500] [--changes 20] [--interval-ms 2000]` (after `npm run build`). Runs the real `xdsd serve` (pinned
// to CPU 0 with taskset when present) on a config of scenario A's shape, connects N ADS clients (in this process,
// pinned to CPU 1) that subscribe to CDS and to every cluster's endpoints and ACK at once, then every interval
// replaces the config file by an atomic rename in which one cluster's endpoints moved. Per change: the time from the
// rename to the first and to the last client receiving the new assignment, and the daemon's CPU (user + system
// from /proc) from the rename until every client has it. Prints medians, p90 and max.
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { shortFormConfig } from "./harness/lib/daemon-config.js";
import { describe, startBenchDaemon } from "./harness/lib/daemon-process.js";
import { connectEdsClients } from "./harness/lib/eds-clients.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "500" },
    endpoints: { type: "string", default: "10" },
    clients: { type: "string", default: "500" },
    changes: { type: "string", default: "20" },
    "interval-ms": { type: "string", default: "2000" },
  },
});
const clusters = Number(values.clusters);
const endpointsPer = Number(values.endpoints);
const clientCount = Number(values.clients);
const changes = Number(values.changes);
const intervalMs = Number(values["interval-ms"]);

const configText = (version: number) => shortFormConfig(clusters, endpointsPer, version);

const dir = mkdtempSync(join(tmpdir(), "xdsd-daemon-bench-"));
const configPath = join(dir, "xdsd.yaml");
writeFileSync(configPath, configText(0));
const daemon = await startBenchDaemon(["--config", configPath, "--data-dir", join(dir, "data")]);
const names = Array.from({ length: clusters }, (_, i) => `c${i}`);
const clients = await connectEdsClients(daemon.xdsPort, clientCount, names);
let firstAt = 0;
let received = 0;
let allReceived: () => void = () => {};
let expecting = false;
clients.onUpdate = (at) => {
  if (!expecting) return;
  if (received === 0) firstAt = at;
  if (++received === clientCount) allReceived();
};
await new Promise((r) => setTimeout(r, 1000));

const first: number[] = [];
const last: number[] = [];
const cpu: number[] = [];
for (let change = 1; change <= changes; change++) {
  const text = configText(change);
  const tmp = `${configPath}.tmp`;
  writeFileSync(tmp, text);
  received = 0;
  expecting = true;
  const done = new Promise<void>((r) => (allReceived = r));
  const cpuBefore = daemon.cpuMs();
  const t0 = performance.now();
  renameSync(tmp, configPath);
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  const t1 = performance.now();
  if (received < clientCount) throw new Error(`change ${change}: ${received} of ${clientCount} clients got it within 10 s\n${daemon.log().slice(-2000)}`);
  first.push(firstAt - t0);
  last.push(t1 - t0);
  // Let the ACKs land before reading the CPU: they are part of the change's cost.
  await new Promise((r) => setTimeout(r, 200));
  cpu.push(daemon.cpuMs() - cpuBefore);
  expecting = false;
  await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (performance.now() - t0))));
}

console.log(
  `xdsd serve, ${clusters} clusters × ${endpointsPer} endpoints, ${clientCount} ADS clients, ${changes} changes (one cluster's endpoints, atomic rename)${daemon.pinned ? ", daemon on CPU 0, clients on CPU 1" : ""}`,
);
console.log(`rename → first client (ms): ${describe(first)}`);
console.log(`rename → last client (ms):  ${describe(last)}`);
console.log(`daemon CPU per change (ms, 10 ms ticks, ACKs included): ${describe(cpu)}`);
clients.close();
await daemon.stop();
process.exit(0);
