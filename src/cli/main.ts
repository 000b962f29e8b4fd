// The `xdsd` command: serve | validate | bootstrap.
import { parseArgs } from "node:util";
import { consoleLogger } from "../log.js";
import { BadArgumentError, ConfigError, formatLocation, XdsdError } from "../errors.js";
import { loadConfigFile, renderBootstrap } from "../config/index.js";
import { snapshotsOf } from "../config/publish.js";
import { parseListenAddress } from "../server/listen-address.js";
import { serve } from "./serve.js";

const usage = `usage:
  xdsd serve --config FILE [--xds-listen HOST:PORT] [--admin-listen HOST:PORT]
      Serve FILE over xDS (default 0.0.0.0:18000), admin on 127.0.0.1:18001; FILE is watched for changes.
  xdsd validate --config FILE
      Exit 0 if FILE is valid; else print every error with file:line:column and field path, exit 2.
  xdsd bootstrap --node-id ID --node-cluster CLUSTER [--config FILE] [--xds HOST:PORT] [--mode eds|ads]
                 [--listen-port PORT] [--admin-port PORT]
      Print an Envoy 1.40 bootstrap (YAML) for a node: eds = static listeners and routes from FILE with EDS
      clusters (default); ads = everything over ADS. FILE defaults to examples/seed.yaml, --xds to 127.0.0.1:18000.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return runServe(rest);
    case "validate":
      return runValidate(rest);
    case "bootstrap":
      return runBootstrap(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(usage + "\n");
      return command === undefined ? 2 : 0;
    default:
      throw new BadArgumentError(`unknown command "${command}"`);
  }
}

function requireFlag(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new BadArgumentError(`--${name} is required`);
  return v;
}

async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string" }, "xds-listen": { type: "string", default: "0.0.0.0:18000" }, "admin-listen": { type: "string", default: "127.0.0.1:18001" } },
  });
  const log = consoleLogger();
  const daemon = await serve({
    configFile: requireFlag(values, "config"),
    xdsListen: parseListenAddress("--xds-listen", values["xds-listen"]!),
    adminListen: parseListenAddress("--admin-listen", values["admin-listen"]!),
    log,
  });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info(`${signal} received, closing streams`);
      void daemon.stop().then(resolve);
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  });
  return 0;
}

function runValidate(args: string[]): number {
  const { values } = parseArgs({ args, options: { config: { type: "string" } } });
  const file = requireFlag(values, "config");
  const config = loadConfigFile(file);
  const snapshots = snapshotsOf(config);
  const groups = snapshots.nodes.size ? `, ${snapshots.nodes.size} node group(s)` : "";
  process.stdout.write(`${file}: ok (${JSON.stringify(snapshots.defaults.summary())}${groups})\n`);
  return 0;
}

function runBootstrap(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      "node-id": { type: "string" },
      "node-cluster": { type: "string" },
      config: { type: "string", default: "examples/seed.yaml" },
      xds: { type: "string", default: "127.0.0.1:18000" },
      mode: { type: "string", default: "eds" },
      "listen-port": { type: "string" },
      "admin-port": { type: "string" },
    },
  });
  const mode = values.mode;
  if (mode !== "eds" && mode !== "ads") throw new BadArgumentError(`--mode "${mode}": expected eds or ads`);
  const xds = parseListenAddress("--xds", values.xds!);
  const port = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new BadArgumentError(`--${flag} "${v}": expected a port 1..65535`);
    return n;
  };
  const config = loadConfigFile(values.config!);
  snapshotsOf(config);
  process.stdout.write(
    renderBootstrap({
      config,
      nodeId: requireFlag(values, "node-id"),
      nodeCluster: requireFlag(values, "node-cluster"),
      xds,
      mode,
      listenPort: port("listen-port", values["listen-port"]),
      adminPort: port("admin-port", values["admin-port"]),
    }),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(`${formatLocation(issue.location)}: ${issue.message}\n`);
      process.stderr.write(`${err.issues.length} error${err.issues.length === 1 ? "" : "s"}\n`);
      process.exitCode = 2;
    } else if (err instanceof XdsdError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`xdsd: ${(err as Error).message}\n\n${usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`xdsd: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
