// gRPC C-core through Python grpcio (installed into .tools/grpcio by scripts/install-grpcio.mjs): a second xDS
// client independent of grpc-js. Runs test/grpcio/xds_peer.py as a child process, with GRPC_XDS_BOOTSTRAP pointing
// at the bootstrap `xdsd bootstrap --grpc` wrote, and speaks its JSON-lines protocol (see the script's docstring).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot, trackChild, withParentDeathSignal } from "./processes.js";
import { runXdsd, type XdsdHandle } from "./xdsd.js";

/** What a run of calls saw: answers by server name, failures as "CODE: details" (the first 20). */
export interface Tally {
  counts: Record<string, number>;
  failures: string[];
  calls: number;
  /** The last 20 answers, oldest first ("!CODE: details" for a failure). */
  tail: string[];
}

export interface GrpcioPeer {
  /** Up to `n` calls one after the other, for at most `seconds`. */
  calls(n: number, seconds?: number): Promise<Tally>;
  /** Calls in the background (2 ms apart) until stop(), for at most `seconds`. */
  start(seconds?: number): Promise<void>;
  stop(): Promise<Tally>;
  /** Ends the process (its input closes); resolves when it has exited. */
  close(): Promise<void>;
  stderr(): string;
}

const pythonPath = () => join(repoRoot(), ".tools", "grpcio");
const script = () => join(repoRoot(), "test", "grpcio", "xds_peer.py");

/** `xdsd bootstrap --grpc` for a node of `xdsd`, written to a file of its own; returns the file's path. */
export async function grpcBootstrapFile(xdsd: XdsdHandle, nodeId: string, nodeCluster: string, extraArgs: string[] = []): Promise<string> {
  const args = ["bootstrap", "--grpc", "--node-id", nodeId, "--node-cluster", nodeCluster, "--xds", `127.0.0.1:${xdsd.xdsPort}`, "--config", xdsd.configPath];
  const boot = await runXdsd([...args, ...extraArgs]);
  if (boot.code !== 0) throw new Error(`xdsd bootstrap --grpc exited ${boot.code}: ${boot.stderr}`);
  const file = join(mkdtempSync(join(tmpdir(), "xdsd-grpc-bootstrap-")), "bootstrap.json");
  writeFileSync(file, boot.stdout);
  return file;
}

function startPeer(args: string[], bootstrapPath: string): { child: ChildProcess; next(timeoutMs: number): Promise<unknown>; stderr(): string } {
  if (!existsSync(join(pythonPath(), "grpc")))
    throw new Error(`grpcio is missing from ${pythonPath()}: run \`node scripts/install-grpcio.mjs\` (npm test does)`);
  const [command, argv] = withParentDeathSignal("python3", [script(), ...args]);
  const child = spawn(command, argv, {
    cwd: repoRoot(),
    env: { ...process.env, PYTHONPATH: pythonPath(), GRPC_XDS_BOOTSTRAP: bootstrapPath, PYTHONUNBUFFERED: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  trackChild(child);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else lines.push(line);
  });
  const next = (timeoutMs: number) =>
    new Promise<unknown>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(JSON.parse(line));
      const timer = setTimeout(() => reject(new Error(`xds_peer.py ${args.join(" ")} did not answer within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
      waiting.push((l) => {
        clearTimeout(timer);
        resolve(JSON.parse(l));
      });
    });
  return { child, next, stderr: () => stderr };
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));

/** A grpcio client of `target` (xds:///NAME resolves through the bootstrap). */
export function startGrpcioClient(target: string, bootstrapPath: string): GrpcioPeer {
  const peer = startPeer(["client", target], bootstrapPath);
  const send = (cmd: object) => peer.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  return {
    async calls(n, seconds = 10) {
      send({ op: "calls", n, seconds });
      return (await peer.next(seconds * 1000 + 10_000)) as Tally;
    },
    async start(seconds = 20) {
      send({ op: "start", seconds });
      await peer.next(10_000);
    },
    async stop() {
      send({ op: "stop" });
      return (await peer.next(15_000)) as Tally;
    },
    async close() {
      peer.child.stdin!.end();
      const timer = setTimeout(() => peer.child.kill("SIGKILL"), 5000);
      await exited(peer.child);
      clearTimeout(timer);
    },
    stderr: peer.stderr,
  };
}

/** An xDS-enabled grpcio server (gRFC A36) bound to `listen`, answering `name` once xdsd sent its listener. */
export async function startGrpcioServer(listen: string, name: string, bootstrapPath: string): Promise<{ close(): Promise<void>; stderr(): string }> {
  const peer = startPeer(["server", listen, name], bootstrapPath);
  await peer.next(10_000);
  return {
    async close() {
      peer.child.stdin!.end();
      const timer = setTimeout(() => peer.child.kill("SIGKILL"), 5000);
      await exited(peer.child);
      clearTimeout(timer);
    },
    stderr: peer.stderr,
  };
}
