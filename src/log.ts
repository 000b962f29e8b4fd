// Logging. A library user passes their own `Logger` (or `consoleLogger`, or `silentLogger`): four methods, kept this
// small on purpose. The daemon logs through pino (cli/daemon-log.ts): JSON lines on stderr, readable lines on a
// terminal, one child logger per subsystem so that debug can be switched on for one part only (XDSD_DEBUG).
//
// Levels: what happens per connection (a proxy identified, a stream closed) and per config change is info; what
// happens per message (a response sent, an ACK, a stream opened before its node is known) is debug, so that the
// default level costs nothing per push. A NACK is a warning: a proxy refused config.
export interface Logger {
  /** Per-message events; a logger may leave it out, and then they are not logged (nor even formatted). */
  debug?(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * The parts of the daemon that log, each with its own debug switch (XDSD_DEBUG=stream,config):
 *   daemon     start, stop, signals
 *   stream     xDS streams: nodes identified, requests, responses, ACKs, NACKs, streams closed
 *   config     the config file: loads, reloads, rejections
 *   transport  connections: errors, GOAWAYs, clients over a limit
 *   admin      the admin HTTP endpoints
 */
export const subsystems = ["daemon", "stream", "config", "transport", "admin"] as const;
export type Subsystem = (typeof subsystems)[number];

/** The logger for each subsystem. */
export type SubsystemLoggers = (subsystem: Subsystem) => Logger;

/** One line per event, `TIME LEVEL MESSAGE`, to `stream` (stderr by default). */
export function consoleLogger(stream: NodeJS.WritableStream = process.stderr, level: LogLevel = "info"): Logger {
  const line = (name: string, message: string) => stream.write(`${new Date().toISOString()} ${name} ${message}\n`);
  const at = logLevels.indexOf(level);
  const off = () => {};
  return {
    debug: at <= 0 ? (m) => line("debug", m) : undefined,
    info: at <= 1 ? (m) => line("info", m) : off,
    warn: at <= 2 ? (m) => line("warn", m) : off,
    error: (m) => line("error", m),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
