// The `xdsd` command: serve | validate | bootstrap.
import { defaultAdminListen, defaultXdsAddress, defaultXdsListen } from "../default-ports.js";
import { readFileSync, writeFileSync } from "node:fs";
import { parseCommandLine } from "./command-line.js";
import { logLevels, type LogLevel } from "../log.js";
import { chooseLogFormat, daemonLoggers, logEnvironment } from "./daemon-log.js";
import {
  AdminTokenFileError,
  BadArgumentError,
  ConfigError,
  formatLocation,
  ListenError,
  StoreUnavailableError,
  TlsCredentialsError,
  XdsdError,
} from "../errors.js";
import { loadConfigFile } from "../config/index.js";
import { bootstrapModes, clientCertificateSds, renderBootstrap, type BootstrapMode } from "../bootstrap/bootstrap.js";
import { parseLocality, renderGrpcBootstrap } from "../bootstrap/grpc-bootstrap.js";
import { snapshotsOf } from "../config/snapshots.js";
import { parseListenAddress } from "../server/transport/listen-address.js";
import { serve } from "./serve.js";
import { storeUrlGrammar, type OpenStoreOptions } from "../store/open-store.js";
import { defaultEtcdPrefix } from "../store/etcd-store.js";
import { defaultEtcdLimits, etcdLimitFlags } from "../store/etcd-limits.js";
import type { TlsFiles } from "../server/transport/tls-credentials.js";
import { fullUsage, usageHint, type CommandUsage } from "./usage.js";
import { apiCommandUsage, runEndpoints, runGet } from "./api-commands.js";
import { applyUsage, runApply } from "./apply-command.js";
import { runStatus, statusUsage } from "./status-command.js";
import { configLimitFlags, defaultConfigLimits } from "../config/config-limits.js";
import { defaultTransportLimits, transportLimitFlags } from "../server/transport/transport-limits.js";
import { defaultLoadReportLimits, loadReportLimitFlags } from "../server/load-report-limits.js";
import { flagsWithDefaults, type LimitFlags } from "../limit-flags.js";
import { AdminTokens } from "../admin/admin-auth.js";
import { adminLimitFlags, defaultAdminLimits } from "../admin/admin-limits.js";

/** Each command's usage; `xdsd COMMAND --help` prints one, `xdsd --help` all of them, a usage error its synopsis. */
const commandUsage: Record<string, CommandUsage> = {
  serve: {
    synopsis: `xdsd serve --config FILE [--xds-listen HOST:PORT] [--admin-listen HOST:PORT] [--rest-listen HOST:PORT]
           [--store URL | --data-dir DIR] [--admin-token-file FILE] [--log-level LEVEL]
           [--xds-tls-cert FILE --xds-tls-key FILE [--xds-client-ca FILE]]
           [--admin-tls-cert FILE --admin-tls-key FILE [--admin-client-ca FILE]] [LIMITS]`,
    description: `Serve FILE over xDS (default ${defaultXdsListen}: gRPC SotW and delta, REST-JSON over HTTP/1.1 and h2c), admin on
${defaultAdminListen}; --rest-listen adds a port for REST-JSON polling only. FILE is watched for changes.
The write API (/v1/clusters…) keeps its objects in the store --store names: sqlite:DIR (embedded; the default
is sqlite:<--data-dir>, --data-dir defaulting to ./xdsd-data) or ${storeUrlGrammar.split(" or ")[1]} (with
--etcd-prefix PREFIX, default ${defaultEtcdPrefix}; --etcd-ca FILE for TLS, --etcd-cert FILE --etcd-key FILE for mutual TLS).
Replicas on one etcd elect one of them, by an etcd lease, to run the once-only duties (endpoint TTL expiry). While
etcd does not answer, the daemon serves its last config, writes answer 503 and /healthz says degraded.
--admin-token-file holds the admin API's bearer tokens, one per line: NAME SCOPE TOKEN (SCOPE read or write;
a write token may read; # comments), or one bare token (a write token named default). Writes need a write
token (without the file, the API is read-only); when --admin-listen is not a loopback address, reads need a
token too (/healthz stays open). Every write is logged as an audit line with the token's name. The file is
watched: a rotated token works at once and the old one stops.
--admin-tls-cert and --admin-tls-key serve the admin API over HTTPS; --admin-client-ca requires a client
certificate that chains to it (mutual TLS). Watched like the xDS port's files.
--xds-tls-cert and --xds-tls-key serve xDS (and --rest-listen) over TLS; --xds-client-ca requires every client to
present a certificate that chains to it (mutual TLS). The files are watched: a rotated one applies to new
connections, and one that cannot be used is logged while the previous ones stay in use (docs/security.md).
Load reports (LRS) are asked every --lrs-interval seconds and summed over --lrs-window in GET /loads
(docs/status-and-loads.md).
LEVEL: debug (every response and ACK), info (default: connections, config changes), warn, error.
Logs go to stderr: JSON lines, or readable lines on a terminal (XDSD_LOG_FORMAT=json|pretty to choose);
XDSD_DEBUG=stream,config,transport,admin,daemon (or all) logs those subsystems at debug.`,
  },
  validate: {
    synopsis: "xdsd validate --config FILE [CONFIG LIMITS]",
    description: "Exit 0 if FILE is valid; else print every error with file:line:column and field path, exit 2.",
  },
  bootstrap: {
    synopsis: `xdsd bootstrap --node-id ID --node-cluster CLUSTER [--config FILE] [--xds HOST:PORT[,HOST:PORT...]] [--mode eds|ads|delta-ads|xds|delta|rest]
               [--listen-port PORT] [--admin-port PORT] [--lrs] [--tls-ca FILE [--tls-cert FILE --tls-key FILE [--tls-cert-sds FILE]] [--tls-sni NAME]]
xdsd bootstrap --grpc --node-id ID --node-cluster CLUSTER [--config FILE] [--xds HOST:PORT[,HOST:PORT...]] [--locality zone=Z,region=R,sub_zone=S]
               [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]`,
    description: `Print an Envoy 1.40 bootstrap (YAML) for a node: eds = static listeners and routes from FILE with EDS
clusters (default); ads = everything over ADS; delta-ads = everything over incremental ADS; xds, delta =
one stream per type (the config must say config_source: grpc / delta-grpc); rest = REST-JSON polls
(config_source: rest). FILE defaults to
examples/seed.yaml in eds mode; the other modes read it only when given. --xds defaults to ${defaultXdsAddress};
several replicas (xdsd serve --store etcd://…) go in Envoy's xds_cluster together, and Envoy reopens a broken
stream on a live one within a second (README "HA"); --grpc lists them in xds_servers.
--lrs makes Envoy report its load to xdsd (LRS: GET /loads; not with --mode rest).
--tls-ca makes Envoy reach xdsd over TLS (xdsd serve --xds-tls-cert/--xds-tls-key), checking xdsd's certificate
against that CA and the name --tls-sni (default: the --xds host, its IP address when it is one); --tls-cert and
--tls-key give Envoy a client certificate for mutual TLS (--xds-client-ca). The paths are Envoy's to read.
--tls-cert-sds FILE also writes FILE, an SDS file naming them, through which Envoy takes them and rereads them when
they are rotated (moved into the certificate's directory: the key first, then the certificate); without it Envoy
reads them once, at start.
--grpc prints a gRPC xDS bootstrap (JSON; GRPC_XDS_BOOTSTRAP) for proxyless clients (xds:///NAME) and xDS-enabled
servers (the config's grpc_servers): insecure, or with --tls-ca "tls" channel creds (gRPC C-core, Java, Go; not
grpc-js-xds), checking xdsd's certificate against the --xds host. FILE, when given, must say config_source: ads.`,
  },
  ...apiCommandUsage,
  apply: applyUsage,
  status: statusUsage,
};

const limitsUsage = () => `  Limits, each a positive whole number (docs/limits.md), with their defaults:
      serve, validate: ${flagsWithDefaults(defaultConfigLimits, configLimitFlags)}
      serve only: ${flagsWithDefaults(defaultTransportLimits, transportLimitFlags)}, ${flagsWithDefaults(defaultAdminLimits, adminLimitFlags)}
      serve on etcd, in seconds: ${flagsWithDefaults(defaultEtcdLimits, etcdLimitFlags)}
      load reports (LRS; seconds, then counts): ${flagsWithDefaults(defaultLoadReportLimits, loadReportLimitFlags)}`;

const usage = `usage:
${Object.values(commandUsage).map(fullUsage).join("\n")}
  xdsd --version
${limitsUsage()}`;

/** The package's version (package.json beside dist/). */
function version(): string {
  const file = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** A set of limit flags as the command line reads them: option name (no dashes) → which limit. */
function limitOptions<T>(flags: LimitFlags<T>): Record<string, keyof T & string> {
  return Object.fromEntries(Object.entries(flags).map(([key, flag]) => [(flag as string).slice(2), key])) as Record<string, keyof T & string>;
}

const configLimitOptions = limitOptions(configLimitFlags);
const etcdLimitOptions = limitOptions(etcdLimitFlags);
const adminLimitOptions = limitOptions(adminLimitFlags);
const transportLimitOptions = limitOptions(transportLimitFlags);
const loadReportLimitOptions = limitOptions(loadReportLimitFlags);

function stringOptions(names: Iterable<string>): Record<string, { type: "string" }> {
  return Object.fromEntries([...names].map((n) => [n, { type: "string" as const }]));
}

/** Reads the limit flags present in `values` into a partial limits object. */
function limitsFrom<K extends string>(values: Record<string, unknown>, options: Record<string, K>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [flag, key] of Object.entries(options)) {
    const v = values[flag];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new BadArgumentError(`--${flag} "${String(v)}": expected a positive whole number`);
    out[key] = n;
  }
  return out;
}

/** The command being run, once it is a known one: a usage error names its synopsis. */
let running: string | undefined;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(commandUsage, command)) running = command;
  if (running !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    const limits = command === "serve" || command === "validate" ? `${limitsUsage()}\n` : "";
    process.stdout.write(`usage:\n${fullUsage(commandUsage[command])}\n${limits}`);
    return 0;
  }
  switch (command) {
    case "--version":
    case "-v":
      process.stdout.write(`xdsd ${version()}\n`);
      return 0;
    case "serve":
      return runServe(rest);
    case "validate":
      return runValidate(rest);
    case "bootstrap":
      return runBootstrap(rest);
    case "endpoints":
      return runEndpoints(rest);
    case "get":
      return runGet(rest);
    case "apply":
      return runApply(rest);
    case "status":
      return runStatus(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new BadArgumentError(`unknown command "${command}" (commands: ${Object.keys(commandUsage).join(", ")})`);
  }
}

function requireFlag(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new BadArgumentError(`--${name} is required`);
  return v;
}

async function runServe(args: string[]): Promise<number> {
  const { values } = parseCommandLine({
    args,
    options: {
      config: { type: "string" },
      "xds-listen": { type: "string", default: defaultXdsListen },
      "admin-listen": { type: "string", default: defaultAdminListen },
      "rest-listen": { type: "string" },
      store: { type: "string" },
      "data-dir": { type: "string" },
      "etcd-prefix": { type: "string" },
      "etcd-ca": { type: "string" },
      "etcd-cert": { type: "string" },
      "etcd-key": { type: "string" },
      "admin-token-file": { type: "string" },
      "xds-tls-cert": { type: "string" },
      "xds-tls-key": { type: "string" },
      "xds-client-ca": { type: "string" },
      "admin-tls-cert": { type: "string" },
      "admin-tls-key": { type: "string" },
      "admin-client-ca": { type: "string" },
      "log-level": { type: "string", default: "info" },
      ...stringOptions(Object.keys(configLimitOptions)),
      ...stringOptions(Object.keys(adminLimitOptions)),
      ...stringOptions(Object.keys(transportLimitOptions)),
      ...stringOptions(Object.keys(etcdLimitOptions)),
      ...stringOptions(Object.keys(loadReportLimitOptions)),
    },
  });
  const etcdLimits = limitsFrom(values, etcdLimitOptions);
  const level = values["log-level"] as LogLevel;
  if (!logLevels.includes(level)) throw new BadArgumentError(`--log-level "${level}": expected ${logLevels.join(", ")}`);
  const env = logEnvironment(process.env);
  const logs = daemonLoggers({
    level,
    format: chooseLogFormat(env.format, process.stderr.isTTY === true),
    debug: env.debug,
    colorize: process.stderr.isTTY === true && process.env.NO_COLOR === undefined,
  });
  const log = logs("daemon");
  for (const problem of env.problems) log.warn(problem);
  // The handlers are in place before the daemon says it serves: a signal right after that line (a supervisor that
  // waits for it, then stops the daemon) must stop it cleanly, not end it by the signal's default action. One
  // while it starts ends it at once, as the default action would: there is nothing to close yet.
  let onSignal = (signal: "SIGTERM" | "SIGINT"): void => {
    log.info(`${signal} received while starting, exiting`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  const daemon = await serve({
    configFile: requireFlag(values, "config"),
    configLimits: limitsFrom(values, configLimitOptions),
    transportLimits: limitsFrom(values, transportLimitOptions),
    loadReportLimits: limitsFrom(values, loadReportLimitOptions),
    xdsListen: parseListenAddress("--xds-listen", values["xds-listen"]!),
    adminListen: parseListenAddress("--admin-listen", values["admin-listen"]!),
    restListen: values["rest-listen"] === undefined ? undefined : parseListenAddress("--rest-listen", values["rest-listen"]),
    ...storeOf(values, etcdLimits.etcdTimeout),
    leaderLeaseTtl: etcdLimits.leaderLeaseTtl,
    adminTokens: values["admin-token-file"] === undefined ? undefined : AdminTokens.load(values["admin-token-file"]),
    xdsTls: tlsFiles(values, "xds"),
    adminTls: tlsFiles(values, "admin"),
    adminLimits: limitsFrom(values, adminLimitOptions),
    log: logs,
  });
  await new Promise<void>((resolve) => {
    onSignal = (signal) => {
      log.info(`${signal} received, closing streams`);
      void daemon.stop().then(resolve);
    };
  });
  return 0;
}

/** The store `serve` opens: --store, or SQLite in --data-dir (one of them), with the etcd options as given. */
function storeOf(values: Record<string, unknown>, etcdTimeout: number | undefined): { store: string; storeOptions: OpenStoreOptions } {
  const [store, dataDir, etcdPrefix, etcdCa, etcdCert, etcdKey] = (["store", "data-dir", "etcd-prefix", "etcd-ca", "etcd-cert", "etcd-key"] as const).map(
    (f) => values[f] as string | undefined,
  );
  if (store !== undefined && dataDir !== undefined)
    throw new BadArgumentError(`--store and --data-dir both name the store: give one (--data-dir DIR is --store sqlite:DIR)`);
  // openStore refuses an option its kind of store does not take, naming it.
  return {
    store: store ?? `sqlite:${dataDir ?? "./xdsd-data"}`,
    storeOptions: { etcdPrefix, etcdCa, etcdCert, etcdKey, etcdCallTimeoutMs: etcdTimeout === undefined ? undefined : etcdTimeout * 1000 },
  };
}

/** A port's TLS files (--xds-… or --admin-…), if any: a certificate and its key go together, and a client CA needs both. */
function tlsFiles(values: Record<string, unknown>, port: "xds" | "admin"): TlsFiles | undefined {
  const [cert, key, clientCa] = ["tls-cert", "tls-key", "client-ca"].map((f) => values[`${port}-${f}`] as string | undefined);
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) throw new BadArgumentError(`--${port}-client-ca needs --${port}-tls-cert and --${port}-tls-key: mutual TLS is TLS first`);
    return undefined;
  }
  if (cert === undefined || key === undefined)
    throw new BadArgumentError(`--${port}-tls-cert and --${port}-tls-key go together: the certificate and its private key`);
  return { cert, key, ...(clientCa === undefined ? {} : { clientCa }) };
}

function runValidate(args: string[]): number {
  const { values } = parseCommandLine({ args, options: { config: { type: "string" }, ...stringOptions(Object.keys(configLimitOptions)) } });
  const file = requireFlag(values, "config");
  const config = loadConfigFile(file, limitsFrom(values, configLimitOptions));
  const snapshots = snapshotsOf(config);
  const groups = snapshots.nodes.size ? `, ${snapshots.nodes.size} node group(s)` : "";
  // Served all the same (an expired certificate, a secret nothing refers to): said, on stderr, as the daemon logs them.
  for (const w of config.warnings) process.stderr.write(`warning: ${formatLocation(w.location)}: ${w.message}\n`);
  process.stdout.write(`${file}: ok (${JSON.stringify(snapshots.defaults.summary())}${groups})\n`);
  return 0;
}

function runBootstrap(args: string[]): number {
  const { values } = parseCommandLine({
    args,
    options: {
      "node-id": { type: "string" },
      "node-cluster": { type: "string" },
      config: { type: "string" },
      xds: { type: "string", default: defaultXdsAddress },
      mode: { type: "string" },
      grpc: { type: "boolean" },
      lrs: { type: "boolean" },
      locality: { type: "string" },
      "listen-port": { type: "string" },
      "admin-port": { type: "string" },
      "tls-ca": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-sni": { type: "string" },
      "tls-cert-sds": { type: "string" },
    },
  });
  const tlsCa = values["tls-ca"];
  if (tlsCa === undefined && (values["tls-cert"] ?? values["tls-key"] ?? values["tls-sni"]) !== undefined) {
    throw new BadArgumentError("--tls-cert, --tls-key and --tls-sni need --tls-ca: the CA that xdsd's certificate chains to");
  }
  // Every replica of an HA deployment (issue 20), in order: the gRPC bootstrap's xds_servers keeps it.
  const xds = values.xds!.split(",").map((address) => parseListenAddress("--xds", address.trim()));
  const tls =
    tlsCa === undefined ? undefined : { ca: tlsCa, cert: values["tls-cert"], key: values["tls-key"], sni: values["tls-sni"], certSds: values["tls-cert-sds"] };
  if (values["tls-cert-sds"] !== undefined && (tls === undefined || values.grpc)) {
    throw new BadArgumentError("--tls-cert-sds is for Envoy bootstraps with --tls-ca, --tls-cert and --tls-key: it names the client certificate files");
  }
  if (values.grpc) {
    const envoyOnly = (["mode", "listen-port", "admin-port", "lrs"] as const).find((f) => values[f] !== undefined);
    if (envoyOnly) throw new BadArgumentError(`--${envoyOnly} is for Envoy bootstraps; --grpc writes a gRPC one`);
    const config = values.config === undefined ? undefined : loadConfigFile(values.config);
    process.stdout.write(
      renderGrpcBootstrap({
        config,
        nodeId: requireFlag(values, "node-id"),
        nodeCluster: requireFlag(values, "node-cluster"),
        xds,
        locality: values.locality === undefined ? undefined : parseLocality(values.locality),
        tls,
      }),
    );
    return 0;
  }
  if (values.locality !== undefined) throw new BadArgumentError("--locality is for gRPC bootstraps (--grpc)");
  const mode = (values.mode ?? "eds") as BootstrapMode;
  if (!bootstrapModes.includes(mode as BootstrapMode)) throw new BadArgumentError(`--mode "${mode}": expected ${bootstrapModes.join(", ")}`);
  const port = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new BadArgumentError(`--${flag} "${v}": expected a port 1..65535`);
    return n;
  };
  // eds mode writes the config's listeners and clusters into the bootstrap, so it needs one (the seed by default);
  // the other modes only check the node's group against it, and need none.
  const file = values.config ?? (mode === "eds" ? "examples/seed.yaml" : undefined);
  const config = file === undefined ? undefined : loadConfigFile(file);
  if (config) snapshotsOf(config);
  const bootstrap = renderBootstrap({
    config,
    nodeId: requireFlag(values, "node-id"),
    nodeCluster: requireFlag(values, "node-cluster"),
    xds,
    mode,
    listenPort: port("listen-port", values["listen-port"]),
    adminPort: port("admin-port", values["admin-port"]),
    tls,
    lrs: values.lrs,
  });
  // Written once the bootstrap is known to be good: the SDS file Envoy reads its client certificate through.
  if (tls?.certSds !== undefined) writeFileSync(tls.certSds, clientCertificateSds(tls));
  process.stdout.write(bootstrap);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ListenError || err instanceof StoreUnavailableError || err instanceof TlsCredentialsError) {
      // Not a usage problem: one line saying what is wrong, exit 1.
      process.stderr.write(`xdsd: ${err.message}\n`);
      process.exitCode = 1;
    } else if (err instanceof ConfigError || err instanceof AdminTokenFileError) {
      for (const issue of err.issues) process.stderr.write(`${formatLocation(issue.location)}: ${issue.message}\n`);
      process.stderr.write(`${err.issues.length} error${err.issues.length === 1 ? "" : "s"}\n`);
      process.exitCode = 2;
    } else if (err instanceof BadArgumentError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      // The error, then the command's synopsis alone: the whole usage of every command would bury the error.
      const hint = running === undefined ? "see `xdsd --help`" : usageHint(running, commandUsage[running]);
      process.stderr.write(`xdsd: ${(err as Error).message}\n${hint}\n`);
      process.exitCode = 2;
    } else if (err instanceof XdsdError) {
      process.stderr.write(`xdsd: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`xdsd: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
