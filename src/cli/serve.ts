// `xdsd serve`: the daemon. Loads the config (refusing to start on an invalid one), serves xDS, watches the file,
// and serves the admin endpoints. SIGTERM and SIGINT end every stream and exit cleanly.
import { SnapshotCache } from "../cache/snapshot-cache.js";
import { XdsServer } from "../server/xds-server.js";
import { warnUnenforcedIdentities } from "../server/authorization.js";
import { restServices } from "../server/protocol/rest-service.js";
import { NodeStatuses } from "../server/node-status.js";
import { allClients } from "../server/client-status.js";
import { clientStatusResponse } from "../server/client-status-response.js";
import { loggingEvents } from "../server/observers/log-events.js";
import { XdsdMetrics } from "../daemon/metrics.js";
import { combineEvents } from "../server/observers/events.js";
import { ConfigReloader } from "../daemon/reloader.js";
import { AdminServer } from "../admin/admin-server.js";
import { ChangeHistory } from "../daemon/change-history.js";
import { UiEvents } from "../admin/ui-events.js";
import { UiRoutes } from "../admin/ui-routes.js";
import { WriteApi } from "../admin/write-api.js";
import { EndpointExpiry } from "../daemon/endpoint-expiry.js";
import { openStore, type OpenStoreOptions } from "../store/open-store.js";
import { SoleLeader, type Leadership } from "../daemon/leader.js";
import { EtcdStore } from "../store/etcd-store.js";
import { parseStoreUrl } from "../store/open-store.js";
import { defaultEtcdLimits, etcdLimitFlags } from "../store/etcd-limits.js";
import { storeStatus } from "../daemon/store-status.js";
import { BadArgumentError } from "../errors.js";
import type { Logger, SubsystemLoggers } from "../log.js";
import { isLoopback, type ListenAddress } from "../server/transport/listen-address.js";
import type { ConfigLimits } from "../config/config-limits.js";
import type { TransportLimits } from "../server/transport/transport-limits.js";
import { hostname } from "node:os";
import { TlsCredentials, type TlsFiles } from "../server/transport/tls-credentials.js";
import { watchFile, type FileWatch } from "../daemon/file-watch.js";
import { LoadReports } from "../server/load-reports.js";
import type { LoadReportLimits } from "../server/load-report-limits.js";
import { registerLoadMetrics } from "../daemon/load-metrics.js";
import { nodeDiff, nodeDiffs } from "../server/node-diff.js";
import { AdminAuth, AdminTokens, bareTokenName } from "../admin/admin-auth.js";
import type { AdminLimits } from "../admin/admin-limits.js";

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
  /** How often LRS clients report, the window GET /loads sums over, its bounds (server/load-report-limits.ts). */
  loadReportLimits?: Partial<LoadReportLimits>;
  /**
   * The store, as a URL (store/open-store.ts: `sqlite:DIR` or `etcd://HOST:PORT[,...]`), and the options of its kind
   * (etcd's key prefix and TLS files).
   */
  store: string;
  storeOptions?: OpenStoreOptions;
  /** etcd: the leader election's lease TTL in seconds (default: store/etcd-limits.ts). */
  leaderLeaseTtl?: number;
  /** The bearer token API writes must present; without it the write API is read-only. */
  adminToken?: string;
  /** The admin tokens, named and scoped (--admin-token-file, watched); instead of adminToken. */
  adminTokens?: AdminTokens;
  /** Serve the admin API over HTTPS with these files, mutual TLS with a client CA; watched for rotation. */
  adminTls?: TlsFiles;
  /** Overrides of the admin port's limits (defaults in admin/admin-limits.ts). */
  adminLimits?: Partial<AdminLimits>;
  /** Serve xDS (and REST polling) over TLS with these files, mutual TLS with a client CA; watched for rotation. */
  xdsTls?: TlsFiles;
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
  const storeKind = parseStoreUrl(o.store).kind;
  if (o.leaderLeaseTtl !== undefined && storeKind !== "etcd")
    throw new BadArgumentError(`${etcdLimitFlags.leaderLeaseTtl} applies to an etcd:// store only: a daemon alone on its SQLite store always leads`);
  // First: credentials that cannot be used stop the start, with the file named, before anything is opened.
  const tls = o.xdsTls && TlsCredentials.load(o.xdsTls);
  const adminTls = o.adminTls && TlsCredentials.load(o.adminTls);
  const cache = new SnapshotCache();
  // Before the first load, so that it is counted; the servers' push queues are added once they exist.
  const servers: XdsServer[] = [];
  const metrics = new XdsdMetrics({
    cache,
    config: () => reloader.state,
    pendingPushes: () => servers.reduce((n, s) => n + s.pendingPushes, 0),
    storeStatus: () => status(),
  });
  // Every server's clients, as /nodes, CSDS (on the xDS port and the admin port) and the dashboard report them.
  const clients = allClients(servers);
  const nodes = new NodeStatuses(clients);
  const uiEvents = new UiEvents({ nodes });
  const history = new ChangeHistory({ cache, onChange: (seq) => uiEvents.changed(seq) });
  const stopObserving = metrics.rollouts.observe(history);
  // Opened first: a daemon whose store is unusable (another xdsd on it, a damaged file) does not start.
  const store = await openStore(o.store, o.storeOptions);
  // Replicas on one etcd elect the one that runs the once-only duties; a daemon alone on SQLite leads (leader.ts).
  const election =
    store instanceof EtcdStore
      ? store.election({ ttlSeconds: o.leaderLeaseTtl ?? defaultEtcdLimits.leaderLeaseTtl, candidate: `xdsd@${hostname()} pid ${process.pid}`, log })
      : undefined;
  const leadership: Leadership = election ?? new SoleLeader();
  const reachability = store instanceof EtcdStore ? () => store.reachability : undefined;
  const status = () => storeStatus({ kind: storeKind, reachability, revision: () => reloader.storeRevision, leadership });
  // Degraded mode (issue 20): said once when it begins and once when it ends.
  const unwatchReachability =
    store instanceof EtcdStore
      ? store.onReachability((r) =>
          r.reachable
            ? log.info("the store answers again: writes are accepted, the daemon catches up with what changed meanwhile")
            : log.warn(`${status().reason}`),
        )
      : undefined;
  const reloader = new ConfigReloader(o.configFile, cache, logOf("config"), {
    limits: o.configLimits,
    onReload: (result) => metrics.configReloaded(result),
    onStoreWrite: (result) => metrics.storeWritten(result),
    onPublished: (version, source, by) => history.published(version, source, by),
    store,
  });
  try {
    await reloader.loadInitial();
  } catch (err) {
    uiEvents.close();
    stopObserving();
    metrics.close();
    await reloader.close();
    await store.close();
    throw err;
  }

  const controlPlaneId = `xdsd@${hostname()}`;
  const adminTokens =
    o.adminTokens ?? (o.adminToken === undefined ? undefined : AdminTokens.of([{ name: bareTokenName, scope: "write", token: o.adminToken }]));
  const fileWatches = [
    ...(tls ? watchTlsFiles(tls, logOf("transport"), "xDS") : []),
    ...(adminTls ? watchTlsFiles(adminTls, logOf("admin"), "admin") : []),
    ...(adminTokens ? [adminTokens.watch(logOf("admin"))] : []),
  ];
  // identities: are enforced with client certificates only (server/authorization.ts); say so if they are not.
  const unenforced = tls?.mutual ? () => {} : warnUnenforcedIdentities(cache, logOf("config"));
  const loads = new LoadReports(o.loadReportLimits);
  registerLoadMetrics(metrics.registry, loads);
  const serverOptions = {
    clients,
    loads,
    cache,
    events: combineEvents(loggingEvents(logOf("stream")), metrics, uiEvents),
    controlPlaneId,
    log: logOf("transport"),
    tls,
    ...o.transportLimits,
  };
  const xds = new XdsServer(serverOptions);
  const rest = o.restListen && new XdsServer({ ...serverOptions, services: restServices });
  servers.push(xds, ...(rest ? [rest] : []));
  let healthy = false;
  // Off loopback, whoever reaches the port could read every node group's config: reads need a token too.
  const auth = new AdminAuth({ tokens: adminTokens, readsNeedToken: !isLoopback(o.adminListen.host), limits: o.adminLimits, log: logOf("admin") });
  const writeApi = new WriteApi({
    reloader,
    auth,
    rollouts: metrics.rollouts,
    storeDown: () => {
      const store = status();
      return store.state === "degraded" ? store.reason : undefined;
    },
  });
  const expiry = new EndpointExpiry(reloader, logOf("config"), { leadership });
  const admin = new AdminServer({
    cache,
    nodes,
    clientStatus: (request) => clientStatusResponse(clients, cache, request),
    loads: () => loads.view(),
    nodeDiff: (node) => nodeDiff(clients, cache, node),
    nodeDiffs: (nodes) => nodeDiffs(clients, cache, nodes),
    healthy: () => healthy,
    config: () => reloader.state,
    storeStatus: status,
    metrics,
    log: logOf("admin"),
    writeApi,
    ui: new UiRoutes({ cache, events: uiEvents, history, controlPlaneId, version: () => reloader.state?.version }),
    auth,
    tls: adminTls,
  });
  let adminPort: number;
  let xdsPort: number;
  let restPort: number | undefined;
  try {
    adminPort = await admin.listen(o.adminListen.host, o.adminListen.port);
    xdsPort = await xds.listen(o.xdsListen);
    if (rest && o.restListen) restPort = await rest.listen(o.restListen);
  } catch (err) {
    // Nothing may be left running: a daemon that cannot serve exits (the caller reports the ListenError).
    uiEvents.close();
    stopObserving();
    metrics.close();
    for (const w of fileWatches) w.close();
    await Promise.allSettled([admin.close(), xds.close(0), rest?.close(0), reloader.close()]);
    await store.close();
    throw err;
  }
  healthy = true;
  reloader.start();
  election?.start();
  // Registrations that expired while the daemon was down go at the first sweep.
  expiry.start();
  const restNote = o.restListen ? `, REST-JSON polling also on ${o.restListen.host}:${restPort}` : "";
  log.info(`xdsd serving xDS on ${o.xdsListen.host}:${xdsPort}, admin on ${adminTls ? "https" : "http"}://${o.adminListen.host}:${adminPort}${restNote}`);
  if (auth.readsNeedToken && !adminTls) {
    logOf("admin").warn(
      `the admin API is served in plaintext on ${o.adminListen.host}:${adminPort}, not a loopback address: its tokens and answers can be read in ` +
        "transit. Serve it over TLS (--admin-tls-cert, --admin-tls-key, --admin-client-ca; docs/security.md), or listen on a loopback address",
    );
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      healthy = false;
      for (const w of fileWatches) w.close();
      unenforced();
      expiry.close();
      // The lease revoked: another replica leads at once, not a lease TTL later.
      await election?.close();
      unwatchReachability?.();
      await reloader.close();
      await Promise.all([xds.close(), rest?.close()]);
      await admin.close();
      uiEvents.close();
      stopObserving();
      metrics.close();
      await store.close();
      log.info("xdsd stopped");
    })());
  return { xdsPort, adminPort, restPort, stop };
}

/**
 * Reloads a port's credentials (`port`: xDS or admin) when one of their files changes (a rotation writes the certificate and the key
 * one after the other: the file watch's quiet period lets both land before they are read together). A rotation
 * that cannot be used keeps the previous credentials and says why.
 */
function watchTlsFiles(tls: TlsCredentials, log: Logger, port: "xDS" | "admin"): FileWatch[] {
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    const error = tls.reload();
    if (error) log.warn(`${port} TLS credentials not reloaded, the previous ones stay in use: ${error.message}`);
    else log.info(`${port} TLS credentials reloaded: new connections get the certificate valid until ${tls.notAfter.toISOString()}`);
  };
  // One reload for a burst of changes to any of the files.
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 250).unref();
  };
  const { cert, key, clientCa } = tls.files;
  const watches = [cert, key, ...(clientCa === undefined ? [] : [clientCa])].map((file) => watchFile(file, changed, 0, 0));
  return [...watches, { close: () => clearTimeout(timer) }];
}
