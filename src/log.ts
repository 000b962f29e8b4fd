// The daemon's log: one line per event, timestamped, to stderr (stdout stays free for command output such as
// `xdsd bootstrap`). Kept this small on purpose; a library user passes their own `Logger`.
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function consoleLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  const line = (level: string, message: string) => stream.write(`${new Date().toISOString()} ${level} ${message}\n`);
  return {
    info: (m) => line("info", m),
    warn: (m) => line("warn", m),
    error: (m) => line("error", m),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
