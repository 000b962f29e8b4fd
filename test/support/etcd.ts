// A real 3-member etcd cluster on loopback for the etcd store tests (issue 20: never a fake). As with Envoy and
// Prometheus, a missing binary is a failure that says how to get one, never a skip: `node scripts/install-etcd.mjs`
// (run-tests.mjs runs it) installs Debian's etcd-server; ETCD_BIN points at another.
//
// Each member has its own client and peer port (freePort) and data directory in one temp directory; the cluster
// token is unique, so members of another test's cluster can never join. Members are children of the test process
// (killed with it, however it ends: withParentDeathSignal) and stop() kills them all and removes the directory.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { EtcdClient } from "../../src/store/etcd-client.js";
import { freePort } from "./ports.js";
import { isExecutable, trackChild, withParentDeathSignal } from "./processes.js";

const HOW_TO_INSTALL = "Run `node scripts/install-etcd.mjs` as root (it installs Debian's `etcd-server` package; the test runner does this), or set ETCD_BIN.";

export function findEtcd(): string {
  const fromEnv = process.env.ETCD_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`ETCD_BIN=${fromEnv} is not an executable file. ${HOW_TO_INSTALL}`);
    return fromEnv;
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, "etcd"))) return join(dir, "etcd");
  }
  throw new Error(`No etcd binary found (ETCD_BIN is unset and there is none on PATH). ${HOW_TO_INSTALL}`);
}

/** Client TLS for every member (peers stay plaintext): PEM files; clients must present a certificate of `ca`. */
export interface EtcdTls {
  ca: string;
  /** The members' certificate: its SANs must include IP:127.0.0.1. */
  serverCert: string;
  serverKey: string;
  /** A client certificate of `ca`, for the cluster's own client (health, leader, compaction). */
  clientCert: string;
  clientKey: string;
}

interface MemberState {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly logPath: string;
  child?: ChildProcess;
  exit?: Promise<void>;
}

export interface EtcdCluster {
  /** `127.0.0.1:port` of each member, in member order. */
  readonly endpoints: readonly string[];
  /** `etcd://` URL of the whole cluster, for openStore. */
  readonly url: string;
  /** A client of the whole cluster, for compaction and status (closed by stop()). */
  readonly client: EtcdClient;
  /** Whether member `i` is running. */
  running(i: number): boolean;
  /** Kills member `i` with SIGKILL (a crash) or SIGTERM, and waits until it has exited. */
  kill(i: number, signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Starts member `i` again on its data directory. */
  start(i: number): void;
  /** The index of the current leader, as the running members agree on it (waits for an election, 15 s at most). */
  leader(timeoutMs?: number): Promise<number>;
  /** Makes member `to` the leader (etcd's MoveLeader, asked of the current leader). */
  moveLeader(to: number): Promise<void>;
  /** Waits until every running member answers and agrees on one leader (15 s at most). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The last lines of member `i`'s log. */
  logTail(i: number, lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts a 3-member cluster on 127.0.0.1 and resolves once it has a leader. Default timings (100 ms heartbeat,
 * 1 s election timeout): a loaded 2-core machine must not make members start elections for nothing.
 */
export async function startEtcdCluster(options: { members?: number; tls?: EtcdTls } = {}): Promise<EtcdCluster> {
  const bin = findEtcd();
  const dir = mkdtempSync(join(tmpdir(), "xdsd-etcd-"));
  const count = options.members ?? 3;
  const members: MemberState[] = [];
  for (let i = 0; i < count; i++) {
    members.push({
      name: `m${i}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: join(dir, `m${i}`),
      logPath: join(dir, `m${i}.log`),
    });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
  const token = `xdsd-test-${randomBytes(6).toString("hex")}`;
  const endpoints = members.map((m) => `127.0.0.1:${m.clientPort}`);
  const { tls } = options;
  const scheme = tls ? "https" : "http";

  const start = (i: number): void => {
    const m = members[i];
    if (m.child) throw new Error(`etcd member ${i} is already running`);
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${scheme}://127.0.0.1:${m.clientPort}`,
      `--advertise-client-urls=${scheme}://127.0.0.1:${m.clientPort}`,
      ...(tls ? [`--cert-file=${tls.serverCert}`, `--key-file=${tls.serverKey}`, `--trusted-ca-file=${tls.ca}`, "--client-cert-auth=true"] : []),
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      // Ignored once the data directory holds the membership: a restarted member rejoins.
      "--initial-cluster-state=new",
      `--initial-cluster-token=${token}`,
      "--logger=zap",
      "--log-level=warn",
    ];
    const logFd = openSync(m.logPath, "a");
    try {
      const [command, commandArgs] = withParentDeathSignal(bin, args);
      m.child = spawn(command, commandArgs, { stdio: ["ignore", logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const child = m.child;
    trackChild(child);
    m.exit = new Promise<void>((resolve) => {
      child.once("exit", () => {
        if (m.child === child) m.child = undefined;
        resolve();
      });
      child.once("error", () => resolve());
    });
  };

  const client = new EtcdClient({
    endpoints,
    callTimeoutMs: 5_000,
    tls: tls && { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) },
  });
  const logTail = (i: number, lines = 20): string => {
    try {
      return readFileSync(members[i].logPath, "utf8").split("\n").filter(Boolean).slice(-lines).join("\n");
    } catch (err) {
      return `(no log: ${(err as Error).message})`;
    }
  };
  const logs = () => members.map((_, i) => `--- member ${i} (${members[i].child ? "running" : "stopped"}) ---\n${logTail(i)}`).join("\n");

  /** Each running member's view: its ID and its leader's (0: none). */
  const views = async () =>
    Promise.all(
      members.map(async (m, i) => {
        if (!m.child) return undefined;
        try {
          const status = await client.status(i, 1_000);
          return { id: status.header.member_id, leader: status.leader };
        } catch {
          return null;
        }
      }),
    );

  const leader = async (timeoutMs = 15_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await views();
      const answered = v.filter((x) => x !== undefined);
      const leaders = new Set(answered.map((x) => x?.leader));
      if (answered.length > 0 && answered.every((x) => x && x.leader !== "0") && leaders.size === 1) {
        const index = v.findIndex((x) => x && x.id === [...leaders][0]);
        if (index >= 0) return index;
      }
      if (Date.now() >= deadline) throw new Error(`etcd: no agreed leader after ${timeoutMs} ms: ${JSON.stringify(v)}\n${logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  let stopped: Promise<void> | undefined;
  const cluster: EtcdCluster = {
    endpoints,
    url: `etcd://${endpoints.join(",")}`,
    client,
    running: (i) => members[i].child !== undefined,
    async kill(i, signal = "SIGKILL") {
      const m = members[i];
      if (!m.child) return;
      m.child.kill(signal);
      const timer = setTimeout(() => m.child?.kill("SIGKILL"), 10_000);
      await m.exit;
      clearTimeout(timer);
    },
    start,
    leader,
    async moveLeader(to) {
      const from = await leader();
      if (from === to) return;
      const target = await client.status(to);
      await client.moveLeader(from, target.header.member_id);
      const deadline = Date.now() + 15_000;
      while ((await leader()) !== to) {
        if (Date.now() >= deadline) throw new Error(`etcd: member ${to} did not become the leader\n${logs()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async waitHealthy(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await views();
        const running = v.filter((x) => x !== undefined);
        if (running.length > 0 && running.every((x) => x && x.leader !== "0" && x.leader === running[0]?.leader)) return;
        if (Date.now() >= deadline) throw new Error(`etcd: members not healthy after ${timeoutMs} ms: ${JSON.stringify(v)}\n${logs()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    logTail,
    stop() {
      stopped ??= (async () => {
        client.close();
        await Promise.all(members.map((_, i) => cluster.kill(i)));
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };

  try {
    for (let i = 0; i < count; i++) start(i);
    await cluster.waitHealthy(30_000);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
