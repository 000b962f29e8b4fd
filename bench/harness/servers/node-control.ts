// The server control protocol of bench/README.md for the Node servers (xdsd and the floor): argument parsing,
// `POST /step`, `GET /stats` (with event-loop delay; `?reset=1` also restarts the delay histogram so that the
// driver can read it per phase) and exit 0 on SIGTERM. The server itself supplies only "apply the next step".
import { parseArgs } from "node:util";
import { HttpError, serveControl } from "../lib/control-http.js";
import { delayMs, loopDelayMonitor } from "../lib/loop-delay.js";

export interface ServerArgs {
  fixture: string;
  xdsPort: number;
  controlPort: number;
  flags: Record<string, string | boolean | undefined>;
}

export function serverArgs(extra: Record<string, { type: "string" | "boolean" }> = {}): ServerArgs {
  const { values } = parseArgs({
    options: { fixture: { type: "string" }, "xds-port": { type: "string" }, "control-port": { type: "string" }, ...extra },
  });
  if (!values.fixture || !values["xds-port"] || !values["control-port"]) {
    console.error("usage: --fixture FILE --xds-port PORT --control-port PORT");
    process.exit(2);
  }
  return {
    fixture: values.fixture as string,
    xdsPort: Number(values["xds-port"]),
    controlPort: Number(values["control-port"]),
    flags: values as Record<string, string | boolean | undefined>,
  };
}

export interface ControlledServer {
  /** Applies the next step of the fixture; returns its index, or throws if there is none. */
  step(): number | Promise<number>;
  /** Extra figures for /stats (stream counts…). */
  stats?(): Record<string, unknown>;
  close(): Promise<void> | void;
}

export async function runControl(port: number, server: ControlledServer): Promise<void> {
  const delay = loopDelayMonitor();
  const http = await serveControl(port, {
    "POST /step": async () => {
      try {
        return { step: await server.step() };
      } catch (err) {
        throw new HttpError(409, (err as Error).message);
      }
    },
    // Full collections on request, for the memory figures after disconnect only: V8 does not collect an idle
    // heap by itself, and the native memory of closed sessions (nghttp2, sockets) is freed when their JS
    // wrappers are. One collection is not enough: a wrapper's weak callback frees a native object that held
    // other JS objects, which only the next collection can take. So collect, let callbacks and immediates run,
    // and repeat until the heap stops shrinking (what a heap snapshot's collection does inside V8). Needs
    // --expose-gc (the driver passes it to the Node servers).
    "POST /gc": async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new HttpError(409, "start node with --expose-gc");
      let before = Infinity;
      for (let pass = 0; pass < 10; pass++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 50));
        const used = process.memoryUsage().heapUsed;
        if (used > before * 0.99) break;
        before = used;
      }
      // heapUsed right after a collection still counts pages V8 sweeps concurrently: read /stats a moment later.
      return { rssBytes: process.memoryUsage.rss() };
    },
    "GET /stats": (query) => {
      const usage = process.resourceUsage();
      const out = {
        rssBytes: process.memoryUsage.rss(),
        // What V8 holds vs what the process holds: tells a leak from memory not yet given back to the OS.
        heapUsedBytes: process.memoryUsage().heapUsed,
        heapTotalBytes: process.memoryUsage().heapTotal,
        externalBytes: process.memoryUsage().external,
        cpuUserMs: usage.userCPUTime / 1000,
        cpuSystemMs: usage.systemCPUTime / 1000,
        eventLoopDelayP99Ms: delayMs(delay.percentile(99)),
        eventLoopDelayMaxMs: delayMs(delay.max),
        ...server.stats?.(),
      };
      if (query.get("reset") === "1") delay.reset();
      return out;
    },
  });
  process.once("SIGTERM", () => {
    delay.disable();
    http.close();
    http.closeAllConnections();
    Promise.resolve(server.close()).then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
