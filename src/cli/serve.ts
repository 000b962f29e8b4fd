// `xdsd serve`: the daemon. Loads the config (refusing to start on an invalid one), serves xDS, watches the file,
// and serves the admin endpoints. SIGTERM and SIGINT end every stream and exit cleanly.
import { SnapshotCache } from "../cache/snapshot-cache.js";
import { XdsServer } from "../server/xds-server.js";
import { restServices } from "../server/protocol/rest-service.js";
import { NodeStatusTracker } from "../server/observers/node-status.js";
import { loggingEvents } from "../server/observers/log-events.js";
import { combineEvents } from "../server/observers/events.js";
import { ConfigReloader } from "../config/reloader.js";
import { AdminServer } from "../admin/admin-server.js";
import type { Logger, SubsystemLoggers } from "../log.js";
import type { ListenAddress } from "../server/transport/listen-address.js";
import type { ConfigLimits } from "../config/config-limits.js";
import type { TransportLimits } from "../server/transport/transport-limits.js";
import { hostname } from "node:os";

export interface ServeOptions {
  configFile: string;
  xdsListen: ListenAddress;
  adminListen: ListenAddress;
  /** A port of its own for REST-JSON polling (it is served on the xDS port too). */
  restListen?: ListenAddress;
  /** One logger for everything, or one per subsystem (the daemon's: cli/daemon-log.ts). */
  log: Logger | SubsystemLoggers;
  /** Overrides of the xDS transport's limits (defaults in server/transport/transport-limits.ts). */
  transportLimits?: Partial<TransportLimits>;
  /** Overrides of the config limits (defaults in config/config-limits.ts). */
  configLimits?: Partial<ConfigLimits>;
}

export interface RunningDaemon {
  xdsPort: number;
  adminPort: number;
  restPort?: number;
  stop(): Promise<void>;
}

export async function serve(o: ServeOptions): Promise<RunningDaemon> {
  const logOf: SubsystemLoggers = typeof o.log === "function" ? o.log : () => o.log as Logger;
  const log = logOf("daemon");
  const cache = new SnapshotCache();
  const reloader = new ConfigReloader(o.configFile, cache, logOf("config"), { limits: o.configLimits });
  try {
    await reloader.loadInitial();
  } catch (err) {
    await reloader.close();
    throw err;
  }

  const nodes = new NodeStatusTracker();
  const serverOptions = {
    cache,
    events: combineEvents(loggingEvents(logOf("stream")), nodes),
    controlPlaneId: `xdsd@${hostname()}`,
    log: logOf("transport"),
    ...o.transportLimits,
  };
  const xds = new XdsServer(serverOptions);
  const rest = o.restListen && new XdsServer({ ...serverOptions, services: restServices });
  let healthy = false;
  const admin = new AdminServer({ cache, nodes, healthy: () => healthy, config: () => reloader.state, log: logOf("admin") });
  let adminPort: number;
  let xdsPort: number;
  let restPort: number | undefined;
  try {
    adminPort = await admin.listen(o.adminListen.host, o.adminListen.port);
    xdsPort = await xds.listen(o.xdsListen);
    if (rest && o.restListen) restPort = await rest.listen(o.restListen);
  } catch (err) {
    // Nothing may be left running: a daemon that cannot serve exits (the caller reports the ListenError).
    await Promise.allSettled([admin.close(), xds.close(0), rest?.close(0), reloader.close()]);
    throw err;
  }
  healthy = true;
  reloader.start();
  const restNote = o.restListen ? `, REST-JSON polling also on ${o.restListen.host}:${restPort}` : "";
  log.info(`xdsd serving xDS on ${o.xdsListen.host}:${xdsPort}, admin on http://${o.adminListen.host}:${adminPort}${restNote}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      healthy = false;
      await reloader.close();
      await Promise.all([xds.close(), rest?.close()]);
      await admin.close();
      log.info("xdsd stopped");
    })());
  return { xdsPort, adminPort, restPort, stop };
}
