// The servers under test as commands: xdsd (library or daemon), go-control-plane (built on first use) and the
// floor. Shared by the drivers (run.ts, endpoint-scaling.ts). No server takes a protocol flag: each serves state of
// the world and delta on the same port, told apart by the gRPC method, as xDS servers do.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { harnessDir, repoRoot } from "../lib/paths.js";
import type { ServerSpec } from "./run-one.js";

export interface ServerOptions {
  /** Server ids: xdsd, daemon, go, floor ("xdsd" is replaced by `via`). */
  servers: string[];
  /** How xdsd is driven: "xdsd" (library), "daemon", or both. */
  via: string[];
  xdsdArgs: string[];
  nodeArgs: string[];
  goArgs: string[];
}

/** Arguments given as one string (--node-args="…"). */
export const words = (s: string) => s.split(/\s+/).filter(Boolean);
/** A list option: comma- or space-separated (--servers xdsd,go). */
export const list = (s: string) => words(s.replace(/,/g, " "));

export function serverSpecs(o: ServerOptions): ServerSpec[] {
  const via = o.via.map((v) => {
    if (v === "library") return "xdsd";
    if (v === "daemon") return "daemon";
    throw new Error(`--via ${v}: library or daemon`);
  });
  const wanted = o.servers.flatMap((id) => (id === "xdsd" ? via : [id]));
  // --expose-gc only lets the driver ask for a collection after the disconnect phase (POST /gc); nothing else calls it.
  const nodeArgs = ["--expose-gc", ...o.nodeArgs];
  const specs: ServerSpec[] = [];
  for (const id of wanted) {
    if (id === "xdsd") specs.push({ id, command: process.execPath, args: [...nodeArgs, join(harnessDir, "servers", "xdsd-server.js"), ...o.xdsdArgs] });
    // The wrapper passes its node flags (--node-args: profiling) on to the daemon it starts.
    else if (id === "daemon") specs.push({ id, command: process.execPath, args: [...nodeArgs, join(harnessDir, "servers", "daemon-server.js")] });
    else if (id === "floor") specs.push({ id, command: process.execPath, args: [...nodeArgs, join(harnessDir, "servers", "floor-server.js")] });
    else if (id === "go") {
      const binary = buildGoReference();
      // The scenario's expert setup is added per scenario by the driver, unless --go-args says otherwise.
      if (binary) specs.push({ id, command: binary, args: o.goArgs });
    } else throw new Error(`unknown server ${id} (xdsd, daemon, go, floor)`);
  }
  return specs;
}

/** bench/reference/build.sh prints the binary's path on its last line. Missing or failing: skip go, loudly. */
export function buildGoReference(): string | undefined {
  const script = join(repoRoot, "bench", "reference", "build.sh");
  const loud = (why: string) => {
    console.error(`\n!!!!!!!! go-control-plane SKIPPED: ${why}\n!!!!!!!! the table below has no go column and no xdsd/go ratio\n`);
    return undefined;
  };
  if (!existsSync(script)) return loud(`${script} does not exist yet`);
  const r = spawnSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 });
  if (r.status !== 0) return loud(`${script} failed (exit ${r.status})`);
  const binary = r.stdout.trim().split("\n").pop()?.trim();
  if (!binary || !existsSync(binary)) return loud(`${script} printed no existing binary path (got "${binary}")`);
  return binary;
}
