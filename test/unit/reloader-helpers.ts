// The daemon's write path as `xdsd serve` wires it, without the daemon: a ConfigReloader over a config file and a
// real SqliteStore in a temp dir (no fake of our own parts), and what it serves.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { ConfigReloader } from "../../src/daemon/reloader.js";
import type { Logger } from "../../src/log.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";

/** A file cluster `web` (one endpoint, port 8081) and a listener routing to it. */
export const webConfig = `clusters:
  - name: web
    endpoints: ["127.0.0.1:8081"]
listeners:
  - name: l
    port: 10000
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;

export interface StoreReloader {
  readonly dir: string;
  readonly store: SqliteStore;
  readonly cache: SnapshotCache;
  readonly reloader: ConfigReloader;
  /** What it logged, `info …`, `warn …`, `error …`. */
  readonly lines: string[];
  close(): Promise<void>;
}

/**
 * A reloader serving `config` with a store, loaded. With `dir` of an earlier one (closed), it opens the same file
 * and data directory again: a daemon restarted.
 */
export async function storeReloader(config = webConfig, dir = mkdtempSync(join(tmpdir(), "xdsd-reloader-"))): Promise<StoreReloader> {
  const file = join(dir, "xdsd.yaml");
  if (!existsSync(file)) writeFileSync(file, config);
  const store = SqliteStore.open(join(dir, "data"));
  const cache = new SnapshotCache();
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const reloader = new ConfigReloader(file, cache, log, { store });
  await reloader.loadInitial();
  return {
    dir,
    store,
    cache,
    reloader,
    lines,
    async close() {
      await reloader.close();
      await store.close();
    },
  };
}

/** The ports of the endpoints the default snapshot serves for `cluster`, sorted; undefined when it has no such assignment. */
export function servedPorts(cache: SnapshotCache, cluster: string): number[] | undefined {
  const cla = cache.defaultSnapshot()?.resources(TypeUrl.ClusterLoadAssignment).get(cluster)?.message as ClusterLoadAssignment | undefined;
  if (!cla) return undefined;
  return cla.endpoints
    .flatMap((l) => l.lbEndpoints.map((e) => (e.hostIdentifier.case === "endpoint" ? e.hostIdentifier.value.address?.address : undefined)))
    .map((a) => (a?.case === "socketAddress" && a.value.portSpecifier.case === "portValue" ? a.value.portSpecifier.value : Number.NaN))
    .sort((a, b) => a - b);
}
