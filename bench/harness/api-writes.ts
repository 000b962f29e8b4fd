// Scenario W: one endpoint registered through the write API, end to end — the measurement behind
// `node dist/bench/api-write.js` and `npm run bench -- --scenario W`, which both take `apiWriteOptions`. Runs the real
// `xdsd serve` (pinned to CPU 0 when taskset is present) with a config file of N clusters × M endpoints, connects the
// clients (ADS, CDS and every cluster's endpoints, ACKing at once; in this process, on CPU 1), then registers one new
// endpoint per write with `PUT /v1/clusters/<c>/endpoints/<host:port>` (`?wait=acked` unless `--wait none`), one
// write at a time. Per write: the time from sending the request to its answer (with ?wait=acked: the server saw the
// last ACK — the write-to-last-ACK), and to the first and the last client receiving the new assignment. CPU:
// the daemon's user + system time over all the writes divided by their number (the kernel counts in 10 ms ticks, so
// one write's CPU is only known as part of many). With `--clients 0` that is the cost of a write from request to
// published snapshot, the 5 ms target; `--object cluster` or `listener` (with `--clients 0`) measures that
// for a new store cluster or listener per write instead of an endpoint. `--store sqlite,etcd` measures the same
// writes with the daemon on each store in turn: SQLite (its data directory, the default) and a real 3-member etcd
// cluster on this machine (test/support/etcd.ts; issue 20), whose members are not pinned and not counted in the CPU.
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EtcdCluster, startEtcdCluster } from "../../test/support/etcd.js";
import { shortFormConfig } from "./lib/daemon-config.js";
import { describe, quantile, startBenchDaemon } from "./lib/daemon-process.js";
import { connectEdsClients } from "./lib/eds-clients.js";

/** Scenario W's options (parseArgs), as api-write.js and `npm run bench -- --scenario W` take them. */
export const apiWriteOptions = {
  clusters: { type: "string", default: "500" },
  endpoints: { type: "string", default: "10" },
  clients: { type: "string", default: "1000" },
  writes: { type: "string", default: "50" },
  wait: { type: "string", default: "acked" },
  "interval-ms": { type: "string", default: "300" },
  runs: { type: "string", default: "1" },
  "xdsd-args": { type: "string", default: "" },
  object: { type: "string", default: "endpoint" },
  store: { type: "string", default: "sqlite" },
} as const;

export type ApiWriteValues = { [K in keyof typeof apiWriteOptions]?: string };

/** The measurement's settings, from its options. */
interface Settings {
  clusters: number;
  endpointsPer: number;
  clientCount: number;
  writes: number;
  waitAcked: boolean;
  intervalMs: number;
  runs: number;
  xdsdArgs: string[];
  /** What each write changes: an endpoint of a file cluster (scenario W), or a new store cluster or listener. */
  object: "endpoint" | "cluster" | "listener";
  store: Store;
}

const stores = ["sqlite", "etcd"] as const;
type Store = (typeof stores)[number];

interface RunFigures {
  answerMs: number[];
  firstMs: number[];
  lastMs: number[];
  cpuMsPerWrite: number;
  mainThreadCpuMsPerWrite: number;
}

const token = "bench-token-0123456789abcdef";

/** Runs the measurement and prints its figures (stdout; each run's on stderr). */
export async function measureApiWrites(values: ApiWriteValues): Promise<void> {
  const option = (k: keyof typeof apiWriteOptions) => values[k] ?? apiWriteOptions[k].default;
  const s: Settings = {
    clusters: Number(option("clusters")),
    endpointsPer: Number(option("endpoints")),
    clientCount: Number(option("clients")),
    writes: Number(option("writes")),
    waitAcked: option("wait") === "acked",
    intervalMs: Number(option("interval-ms")),
    runs: Math.max(1, Number(option("runs"))),
    xdsdArgs: option("xdsd-args").split(/\s+/).filter(Boolean),
    object: option("object") as Settings["object"],
    store: "sqlite",
  };
  const measured = option("store").split(",") as Store[];
  const unknown = measured.find((x) => !stores.includes(x));
  if (unknown !== undefined) throw new Error(`--store ${unknown}: expected ${stores.join(", ")}, or both separated by a comma`);
  for (const store of measured) await measureOn({ ...s, store });
}

async function measureOn(s: Settings): Promise<void> {
  if (!["endpoint", "cluster", "listener"].includes(s.object)) throw new Error(`--object ${s.object}: expected endpoint, cluster or listener`);
  if (s.object !== "endpoint" && s.clientCount !== 0) throw new Error(`--object ${s.object} measures the write alone: use --clients 0`);

  const all: RunFigures[] = [];
  for (let run = 1; run <= s.runs; run++) all.push(await oneRun(run, s));
  const flat = (k: "answerMs" | "firstMs" | "lastMs") => all.flatMap((f) => f[k]);
  const cpu = all.map((f) => f.cpuMsPerWrite).sort((a, b) => a - b);
  const mainCpu = all.map((f) => f.mainThreadCpuMsPerWrite).sort((a, b) => a - b);
  console.log(
    `xdsd serve on ${s.store === "etcd" ? "a 3-member etcd cluster" : "SQLite"}, ${s.clusters} clusters × ${s.endpointsPer} endpoints in the config file, ${s.clientCount} ADS clients, ${s.runs} run(s) × ${s.writes} writes ` +
      `(a new ${s.object} per write, the first PUT ${writeOf(0, s).path}${s.waitAcked ? "?wait=acked" : ""}; one at a time, ${s.intervalMs} ms apart)`,
  );
  console.log(`request → answer${s.waitAcked ? " (server saw the last ACK)" : " (snapshot published)"} (ms): ${describe(flat("answerMs"))}`);
  if (s.clientCount > 0) {
    console.log(`request → first client has it (ms): ${describe(flat("firstMs"))}`);
    console.log(`request → last client has it (ms):  ${describe(flat("lastMs"))}`);
  }
  console.log(
    `daemon CPU per write (ms, all threads, idle gaps included): median ${quantile(cpu, 0.5).toFixed(2)} (${cpu[0].toFixed(2)}–${cpu[cpu.length - 1].toFixed(2)}) over runs`,
  );
  console.log(`  of which the main thread: median ${quantile(mainCpu, 0.5).toFixed(2)} (${mainCpu[0].toFixed(2)}–${mainCpu[mainCpu.length - 1].toFixed(2)})`);
}

/** Write `w`: its path and body. */
function writeOf(w: number, s: Settings): { path: string; body: unknown } {
  if (s.object === "cluster") return { path: `/v1/clusters/s${w}`, body: { endpoints: [`10.201.${w >> 8}.${w & 255}:9000`] } };
  if (s.object === "listener") {
    const route = { prefix: "/", cluster: `c${w % s.clusters}` };
    return { path: `/v1/listeners/l${w}`, body: { port: 20000 + w, virtual_hosts: [{ name: "all", domains: ["*"], routes: [route] }] } };
  }
  return { path: `/v1/clusters/c${(w * 7) % s.clusters}/endpoints/10.200.${w >> 8}.${w & 255}:9000`, body: { weight: 1 } };
}

function put(port: number, path: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const text = JSON.stringify(body);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(text) },
      },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (data += d));
        res.on("end", () => ok({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("error", fail);
    req.end(text);
  });
}

async function oneRun(run: number, s: Settings): Promise<RunFigures> {
  const { clientCount, writes, waitAcked, intervalMs } = s;
  const dir = mkdtempSync(join(tmpdir(), "xdsd-api-bench-"));
  const configPath = join(dir, "xdsd.yaml");
  writeFileSync(configPath, shortFormConfig(s.clusters, s.endpointsPer));
  writeFileSync(join(dir, "token"), token);
  const etcd: EtcdCluster | undefined = s.store === "etcd" ? await startEtcdCluster() : undefined;
  const store = etcd ? ["--store", etcd.url] : ["--data-dir", join(dir, "data")];
  const daemon = await startBenchDaemon(["--config", configPath, ...store, "--admin-token-file", join(dir, "token"), ...s.xdsdArgs]);
  const names = Array.from({ length: s.clusters }, (_, i) => `c${i}`);
  const clients = await connectEdsClients(daemon.xdsPort, clientCount, names);
  let firstAt = 0;
  let lastAt = 0;
  let received = 0;
  let allReceived: () => void = () => {};
  clients.onUpdate = (at) => {
    if (received === 0) firstAt = at;
    if (++received === clientCount) {
      lastAt = at;
      allReceived();
    }
  };
  await new Promise((r) => setTimeout(r, 1000));
  const figures: RunFigures = { answerMs: [], firstMs: [], lastMs: [], cpuMsPerWrite: 0, mainThreadCpuMsPerWrite: 0 };
  const cpuBefore = daemon.cpuMs();
  const mainCpuBefore = daemon.mainThreadCpuMs();
  for (let w = 0; w < writes; w++) {
    received = 0;
    const done = clientCount === 0 ? Promise.resolve() : new Promise<void>((r) => (allReceived = r));
    const { path, body } = writeOf(w, s);
    const t0 = performance.now();
    const answer = await put(daemon.adminPort, `${path}${waitAcked ? "?wait=acked" : ""}`, body);
    const t1 = performance.now();
    if (answer.status !== 201) throw new Error(`write ${w}: ${answer.status} ${answer.body}`);
    await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
    if (received < clientCount) throw new Error(`write ${w}: ${received} of ${clientCount} clients got it within 10 s\n${daemon.log().slice(-2000)}`);
    figures.answerMs.push(t1 - t0);
    if (clientCount > 0) {
      figures.firstMs.push(firstAt - t0);
      figures.lastMs.push(lastAt - t0);
    }
    if (intervalMs > 0) await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (performance.now() - t0))));
  }
  // Let the last ACKs land: they are part of the writes' cost.
  await new Promise((r) => setTimeout(r, 200));
  // The idle time between writes costs the daemon (timers, the clients' pings) next to nothing, but it is measured
  // too: the figure is an upper bound.
  figures.cpuMsPerWrite = (daemon.cpuMs() - cpuBefore) / writes;
  figures.mainThreadCpuMsPerWrite = (daemon.mainThreadCpuMs() - mainCpuBefore) / writes;
  clients.close();
  await daemon.stop();
  await etcd?.stop();
  console.error(
    `run ${run}: answer p50 ${quantile(figures.answerMs, 0.5).toFixed(1)} ms, p99 ${quantile(figures.answerMs, 0.99).toFixed(1)} ms; CPU per write ${figures.cpuMsPerWrite.toFixed(2)} ms (main thread ${figures.mainThreadCpuMsPerWrite.toFixed(2)})`,
  );
  return figures;
}
