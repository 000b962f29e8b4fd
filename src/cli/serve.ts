// `xdsd serve`: the daemon. Loads the config (refusing to start on an invalid one), serves xDS, watches the file,
// and serves the admin endpoints. SIGTERM and SIGINT end every stream and exit cleanly.
import { SnapshotCache } from "../cache/snapshot-cache.js";
import { XdsServer } from "../server/xds-server.js";
import { NodeStatusTracker } from "../server/observers/node-status.js";
import { loggingEvents } from "../server/observers/log-events.js";
import { combineEvents } from "../server/observers/events.js";
import { ConfigReloader } from "../config/reloader.js";
import { AdminServer } from "../admin/admin-server.js";
import type { Logger } from "../log.js";
import type { ListenAddress } from "../server/transport/listen-address.js";
import type { ConfigLimits } from "../config/config-limits.js";
import type { TransportLimits } from "../server/transport/transport-limits.js";
import { hostname } from "node:os";

export interface ServeOptions {
  configFile: string;
  xdsListen: ListenAddress;
  adminListen: ListenAddress;
  log: Logger;
  /** Overrides of the xDS transport's limits (defaults in server/transport/transport-limits.ts). */
  transportLimits?: Partial<TransportLimits>;
  /** Overrides of the config limits (defaults in config/config-limits.ts). */
  configLimits?: Partial<ConfigLimits>;
}

export interface RunningDaemon {
  xdsPort: number;
  adminPort: number;
  stop(): Promise<void>;
}

export async function serve(o: ServeOptions): Promise<RunningDaemon> {
  const cache = new SnapshotCache();
  const reloader = new ConfigReloader(o.configFile, cache, o.log, { limits: o.configLimits });
  try {
    await reloader.loadInitial();
  } catch (err) {
    await reloader.close();
    throw err;
  }

  const nodes = new NodeStatusTracker();
  const xds = new XdsServer({
    cache,
    events: combineEvents(loggingEvents(o.log), nodes),
    controlPlaneId: `xdsd@${hostname()}`,
    log: o.log,
    ...o.transportLimits,
  });
  let healthy = false;
  const admin = new AdminServer({ cache, nodes, healthy: () => healthy, config: () => reloader.state, log: o.log });
  let adminPort: number;
  let xdsPort: number;
  try {
    adminPort = await admin.listen(o.adminListen.host, o.adminListen.port);
    xdsPort = await xds.listen(o.xdsListen);
  } catch (err) {
    // Nothing may be left running: a daemon that cannot serve exits (the caller reports the ListenError).
    await Promise.allSettled([admin.close(), xds.close(0), reloader.close()]);
    throw err;
  }
  healthy = true;
  reloader.start();
  o.log.info(`xdsd serving xDS on ${o.xdsListen.host}:${xdsPort}, admin on http://${o.adminListen.host}:${adminPort}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      healthy = false;
      await reloader.close();
      await xds.close();
      await admin.close();
      o.log.info("xdsd stopped");
    })());
  return { xdsPort, adminPort, stop };
}
