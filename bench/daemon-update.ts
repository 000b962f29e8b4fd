// A change through the daemon, end to end: `node dist/bench/daemon-update.js [--clusters 500] [--endpoints 10]
// [--clients 500] [--changes 20] [--interval-ms 2000]` (after `npm run build`). Runs the real `xdsd serve` (pinned
// to CPU 0 with taskset when present) on a config of scenario A's shape, connects N ADS clients (in this process,
// pinned to CPU 1) that subscribe to CDS and to every cluster's endpoints and ACK at once, then every interval
// replaces the config file by an atomic rename in which one cluster's endpoints moved. Per change: the time from the
// rename to the first and to the last client receiving the new assignment, and the daemon's CPU (user + system
// from /proc) from the rename until every client has it. Prints medians, p90 and max.
import http2 from "node:http2";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from "../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../src/resource/type-urls.js";
import { grpcFrame, GrpcMessageReader } from "./lib/grpc-frames.js";

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
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function configText(version: number): string {
  const lines = ["clusters:"];
  for (let i = 0; i < clusters; i++) {
    const port = i === version % clusters ? 9000 + version : 8080;
    lines.push(
      `  - name: c${i}`,
      `    endpoints: [${Array.from({ length: endpointsPer }, (_, k) => `"10.${i >> 8}.${i & 255}.${k + 1}:${port}"`).join(", ")}]`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const hasTaskset = spawnSync("taskset", ["-c", "1", "true"]).status === 0;
if (hasTaskset) spawnSync("taskset", ["-p", "-c", "1", String(process.pid)]);

const dir = mkdtempSync(join(tmpdir(), "xdsd-daemon-bench-"));
const configPath = join(dir, "xdsd.yaml");
writeFileSync(configPath, configText(0));
const args = [
  join(root, "bin", "xdsd.js"),
  "serve",
  "--config",
  configPath,
  "--xds-listen",
  "127.0.0.1:0",
  "--admin-listen",
  "127.0.0.1:0",
  "--data-dir",
  join(dir, "data"),
];
const child = hasTaskset ? spawn("taskset", ["-c", "0", process.execPath, ...args]) : spawn(process.execPath, args);
let log = "";
child.stderr.on("data", (d) => (log += d));
process.on("exit", () => child.kill("SIGKILL"));
const port = await new Promise<number>((resolvePort, reject) => {
  const timer = setInterval(() => {
    const m = /serving xDS on \S+:(\d+)/.exec(log);
    if (m) resolvePort(Number(m[1]));
  }, 20);
  child.on("exit", (code) => reject(new Error(`xdsd exited ${code}:\n${log}`)));
  setTimeout(() => {
    clearInterval(timer);
    reject(new Error(`xdsd did not start:\n${log}`));
  }, 20_000).unref();
}).finally(() => undefined);
const daemonPid = hasTaskset
  ? Number(
      spawnSync("pgrep", ["-P", String(child.pid)])
        .stdout.toString()
        .trim() || child.pid,
    )
  : child.pid!;

/** utime + stime of the daemon, ms (clock ticks are 100 Hz on Linux). */
function daemonCpuMs(): number {
  const fields = readFileSync(`/proc/${daemonPid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const names = Array.from({ length: clusters }, (_, i) => `c${i}`);
/** When each client last received an EDS response carrying the changed cluster, by change number. */
let expecting = -1;
let firstAt = 0;
let received = 0;
let allReceived: () => void = () => {};

function connectClient(id: number): Promise<void> {
  return new Promise((ready) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST",
      ":path": "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    const send = (init: Parameters<typeof create<typeof DiscoveryRequestSchema>>[1]) =>
      stream.write(grpcFrame(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init))));
    let edsSeen = false;
    const reader = new GrpcMessageReader((bytes) => {
      const r = fromBinary(DiscoveryResponseSchema, bytes);
      if (r.typeUrl === TypeUrl.Cluster) {
        if (!edsSeen) send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names });
        send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce });
      } else if (r.typeUrl === TypeUrl.ClusterLoadAssignment) {
        send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names });
        if (!edsSeen) {
          edsSeen = true;
          ready();
        } else if (expecting >= 0) {
          const at = performance.now();
          if (received === 0) firstAt = at;
          if (++received === clientCount) allReceived();
        }
      }
    });
    stream.on("data", (chunk: Buffer) => reader.push(chunk, performance.now()));
    send({ node: { id: `bench-${id}`, cluster: "bench" }, typeUrl: TypeUrl.Cluster });
  });
}

for (let i = 0; i < clientCount; i += 50) await Promise.all(Array.from({ length: Math.min(50, clientCount - i) }, (_, k) => connectClient(i + k)));
await new Promise((r) => setTimeout(r, 1000));

const first: number[] = [];
const last: number[] = [];
const cpu: number[] = [];
for (let change = 1; change <= changes; change++) {
  const text = configText(change);
  const tmp = `${configPath}.tmp`;
  writeFileSync(tmp, text);
  received = 0;
  expecting = change;
  const done = new Promise<void>((r) => (allReceived = r));
  const cpuBefore = daemonCpuMs();
  const t0 = performance.now();
  renameSync(tmp, configPath);
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  const t1 = performance.now();
  if (received < clientCount) throw new Error(`change ${change}: ${received} of ${clientCount} clients got it within 10 s\n${log.slice(-2000)}`);
  first.push(firstAt - t0);
  last.push(t1 - t0);
  // Let the ACKs land before reading the CPU: they are part of the change's cost.
  await new Promise((r) => setTimeout(r, 200));
  cpu.push(daemonCpuMs() - cpuBefore);
  expecting = -1;
  await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (performance.now() - t0))));
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `median ${at(0.5).toFixed(1)}, p90 ${at(0.9).toFixed(1)}, max ${s[s.length - 1].toFixed(1)}`;
};
console.log(
  `xdsd serve, ${clusters} clusters × ${endpointsPer} endpoints, ${clientCount} ADS clients, ${changes} changes (one cluster's endpoints, atomic rename)${hasTaskset ? ", daemon on CPU 0, clients on CPU 1" : ""}`,
);
console.log(`rename → first client (ms): ${stat(first)}`);
console.log(`rename → last client (ms):  ${stat(last)}`);
console.log(`daemon CPU per change (ms, 10 ms ticks, ACKs included): ${stat(cpu)}`);
child.kill("SIGTERM");
process.exit(0);
