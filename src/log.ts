// The daemon's log: one line per event, timestamped, to stderr (stdout stays free for command output such as
// `xdsd bootstrap`). Kept this small on purpose; a library user passes their own `Logger`.
//
// Levels: what happens per connection (a proxy identified, a stream closed) and per config change is info; what
// happens per message (a response sent, an ACK, a stream opened before its node is known) is debug, so that the
// default level costs nothing per push. A NACK is a warning: a proxy refused config.
export interface Logger {
  /** Per-message events; a logger may leave it out, and then they are not logged. */
  debug?(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

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
