// Several `xdsd serve` replicas on one real 3-member etcd cluster (issue 20), for the HA tests: every replica reads
// the same config text and the same store prefix, and takes writes with the same admin token. Envoys get a bootstrap
// naming every replica (`xdsd bootstrap --xds H:P,H:P,...`), as an operator's would.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EtcdCluster, startEtcdCluster } from "./etcd.js";
import { httpGet } from "./http.js";
import { runXdsd, startXdsd, type XdsdHandle } from "./xdsd.js";

export interface ApiAnswer {
  status: number;
  body: string;
}

export interface ReplicaSet {
  readonly etcd: EtcdCluster;
  /** The etcd key prefix the replicas share (--etcd-prefix). */
  readonly prefix: string;
  /** The running replicas; `undefined` where one was stopped. */
  readonly replicas: (XdsdHandle | undefined)[];
  /** Starts replica `i` (again) on the store, with the config text it started with. */
  start(i: number): Promise<XdsdHandle>;
  /** A write API call through replica `i`, with the token. */
  api(i: number, method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** GET a JSON admin page of replica `i`. */
  admin<T>(i: number, path: string): Promise<T>;
  /** The per-type versions of what replica `i` serves (its default snapshot), e.g. {cds: "…", lds: "…"}. */
  versions(i: number): Promise<Record<string, string>>;
  /** `xdsd bootstrap` for a node naming every running replica (or those of `only`), in replica order. */
  bootstrap(mode: string, nodeId: string, adminPort: number, only?: number[]): Promise<string>;
  /** Which running replica the node has a stream to (-1: none). */
  connectedTo(nodeId: string): Promise<number>;
  /** Counter `name` summed over its series in replica `i`'s /metrics (0 when absent). */
  metric(i: number, name: string): Promise<number>;
  stop(): Promise<void>;
}

export const replicaToken = "ha-token-0123456789abcdef";

export async function startReplicas(configText: string, count = 3): Promise<ReplicaSet> {
  const etcd = await startEtcdCluster();
  const dir = mkdtempSync(join(tmpdir(), "xdsd-ha-"));
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, replicaToken);
  // A prefix of its own: nothing else in this etcd, but a test restarting replicas must find the same objects.
  const prefix = `/xdsd-ha/${randomBytes(4).toString("hex")}/`;
  const replicas: (XdsdHandle | undefined)[] = [];
  const running = (i: number): XdsdHandle => {
    const r = replicas[i];
    if (!r) throw new Error(`replica ${i} is not running`);
    return r;
  };
  const set: ReplicaSet = {
    etcd,
    prefix,
    replicas,
    async start(i) {
      replicas[i] = await startXdsd(configText, {
        args: ["--store", etcd.url, "--etcd-prefix", prefix, "--admin-token-file", tokenFile],
      });
      return replicas[i];
    },
    api(i, method, path, body) {
      return new Promise((resolve, reject) => {
        const req = request(
          `${running(i).adminUrl}${path}`,
          { method, agent: false, headers: { authorization: `Bearer ${replicaToken}`, "content-type": "application/json" } },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? "" : JSON.stringify(body));
      });
    },
    async admin<T>(i: number, path: string) {
      return (await running(i).admin<T>(path)).json;
    },
    async versions(i) {
      const view = await set.admin<{ default: Record<string, { version: string }> | null }>(i, "/config");
      return Object.fromEntries(Object.entries(view.default ?? {}).map(([type, v]) => [type, v.version]));
    },
    async bootstrap(mode, nodeId, adminPort, only) {
      const first = replicas.find((r) => r !== undefined)!;
      const xds = replicas.flatMap((r, i) => (r && (!only || only.includes(i)) ? [`127.0.0.1:${r.xdsPort}`] : [])).join(",");
      const args = ["bootstrap", "--config", first.configPath, "--mode", mode, "--node-id", nodeId, "--node-cluster", "cluster.local"];
      const boot = await runXdsd([...args, "--xds", xds, "--admin-port", String(adminPort)]);
      if (boot.code !== 0) throw new Error(`xdsd bootstrap --xds ${xds} exited ${boot.code}: ${boot.stderr}`);
      return boot.stdout;
    },
    async connectedTo(nodeId) {
      for (const [i, r] of replicas.entries()) {
        if (!r) continue;
        const page = await set.admin<{ nodes: { node: string; streams: number }[] }>(i, "/nodes");
        if (page.nodes.some((n) => n.node === `cluster.local/${nodeId}` && n.streams > 0)) return i;
      }
      return -1;
    },
    async metric(i, name) {
      const text = (await httpGet(`${running(i).adminUrl}/metrics`)).body;
      let sum = 0;
      for (const line of text.split("\n")) {
        if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
      return sum;
    },
    async stop() {
      await Promise.all(replicas.map((r) => r?.stop("SIGKILL")));
      await etcd.stop();
    },
  };
  try {
    // One after the other: three daemons loading at once on a loaded 2-core machine only start slower.
    for (let i = 0; i < count; i++) await set.start(i);
  } catch (err) {
    await set.stop();
    throw err;
  }
  return set;
}
