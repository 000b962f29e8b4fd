// The daemon's log, through pino: one JSON object per line (level, time, pid, hostname, subsystem, msg) when stderr
// is not a terminal, which is what a log collector wants; on a terminal, readable lines (pino-pretty). Each
// subsystem (log.ts) logs through a child logger of its own, so that
//
//   XDSD_DEBUG=stream,config     debug lines from those subsystems only, whatever --log-level says
//   XDSD_DEBUG=all               debug lines from every subsystem (the same as --log-level debug)
//   XDSD_LOG_FORMAT=json|pretty  overrides the choice made from whether stderr is a terminal
//
// (the way grpc-js's GRPC_TRACE switches on tracers). Every record's `msg` is the line the daemon logged before it
// used pino, so a grep for "NACK .* type=cds" finds the same events.
import pino from "pino";
import pretty from "pino-pretty";
import { subsystems, type LogLevel, type Logger, type Subsystem, type SubsystemLoggers } from "../log.js";

export const logFormats = ["json", "pretty"] as const;
export type LogFormat = (typeof logFormats)[number];

export interface LogEnvironment {
  /** XDSD_LOG_FORMAT, when it names a format. */
  format?: LogFormat;
  /** The subsystems XDSD_DEBUG switches debug on for. */
  debug: Set<Subsystem>;
  /** What in the environment made no sense, one sentence each, for the log once it exists. */
  problems: string[];
}

/** Reads XDSD_DEBUG and XDSD_LOG_FORMAT. A name it does not know is a problem to report, not a reason to fail. */
export function logEnvironment(env: NodeJS.ProcessEnv): LogEnvironment {
  const out: LogEnvironment = { debug: new Set(), problems: [] };
  const format = env.XDSD_LOG_FORMAT?.trim();
  if (format) {
    if ((logFormats as readonly string[]).includes(format)) out.format = format as LogFormat;
    else out.problems.push(`XDSD_LOG_FORMAT="${format}" ignored: expected ${logFormats.join(" or ")}`);
  }
  for (const name of (env.XDSD_DEBUG ?? "").split(/[\s,]+/).filter(Boolean)) {
    if (name === "all" || name === "*") for (const s of subsystems) out.debug.add(s);
    else if ((subsystems as readonly string[]).includes(name)) out.debug.add(name as Subsystem);
    else out.problems.push(`XDSD_DEBUG names no subsystem "${name}" (there are ${subsystems.join(", ")}, or all)`);
  }
  return out;
}

/** Pretty on a terminal, JSON anywhere else (a pipe, a file, journald), unless XDSD_LOG_FORMAT says. */
export function chooseLogFormat(forced: LogFormat | undefined, isTTY: boolean): LogFormat {
  return forced ?? (isTTY ? "pretty" : "json");
}

export interface DaemonLogOptions {
  /** The level of every subsystem not in `debug`. */
  level: LogLevel;
  format: LogFormat;
  /** Subsystems logged at debug whatever `level` is. */
  debug?: ReadonlySet<Subsystem>;
  /** Where lines go; by default stderr, written synchronously so that nothing is lost when the process exits. */
  destination?: NodeJS.WritableStream;
  /** Colors in pretty lines (for a terminal). */
  colorize?: boolean;
}

/** The daemon's loggers, one per subsystem, all writing to one destination. */
export function daemonLoggers(o: DaemonLogOptions): SubsystemLoggers {
  const options: pino.LoggerOptions = {
    level: o.level,
    timestamp: pino.stdTimeFunctions.isoTime,
    // "level":"warn" rather than pino's 40: the log is read by people and collectors that know level names.
    formatters: { level: (label) => ({ level: label }) },
  };
  const stream =
    o.format === "pretty"
      ? pretty({
          destination: o.destination ?? 2,
          sync: true,
          colorize: o.colorize ?? false,
          singleLine: true,
          translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
          ignore: "pid,hostname,subsystem",
          messageFormat: "{if subsystem}{subsystem}: {end}{msg}",
        })
      : (o.destination ?? pino.destination({ fd: 2, sync: true }));
  const root = pino(options, stream);
  const loggers = new Map<Subsystem, Logger>();
  return (subsystem) => {
    let logger = loggers.get(subsystem);
    if (!logger) loggers.set(subsystem, (logger = adapt(root.child({ subsystem }, { level: o.debug?.has(subsystem) ? "debug" : o.level }))));
    return logger;
  };
}

/** A pino logger as a `Logger`; without debug at a level above it, so that debug lines are not even formatted. */
function adapt(p: pino.Logger): Logger {
  return {
    debug: p.isLevelEnabled("debug") ? (m) => p.debug(m) : undefined,
    info: (m) => p.info(m),
    warn: (m) => p.warn(m),
    error: (m) => p.error(m),
  };
}
