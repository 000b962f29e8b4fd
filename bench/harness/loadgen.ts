// The load generator: N simulated proxies (loadgen/proxy.ts), each with one ADS stream, driven over a control
// port. The same generator, with the same subscription behaviour, drives every server under test, in either
// protocol (--protocol: state of the world, or delta; loadgen/dialect.ts).
//
//   node dist/bench/harness/loadgen.js --fixture F --xds-port P[,P...] --control-port C --max-clients N
//        [--protocol sotw|delta] [--verify bytes|sha256] [--window BYTES]
// With several xDS ports (replicas of one server: --replicas), connections go to them in turn.
//
// Control (JSON over HTTP/1.1 on 127.0.0.1:C):
//   POST /connect     {clients, spreadMs, streamsPerConnection}  start connecting, evenly over spreadMs
//   GET  /wait?initial=1&timeoutMs=T      every client holds all of step 0 (per-client times, last time)
//   POST /track?step=i                    start tracking step i (call before the server applies it)
//   GET  /wait?step=i&timeoutMs=T         every client holds step i's changes (first/median/p99/last ACK time)
//   GET  /wait?type=cds&name=X&hash=H     every client holds resource X with content SHA-256 H
//   POST /disconnect                      cancel every stream, close every connection
//   GET  /stats                           counters, CPU, RSS, event-loop delay of the generator itself
//   GET  /now                             this process's clock (the driver estimates the offset to its own)
//
// Cheapness, because the generator must not be what is measured: node:http2 directly (no grpc-js), one connection
// per proxy by default, responses skimmed not decoded, resources checked by memcmp against the fixture's bytes
// (`--verify sha256` hashes every resource instead, as a cross-check of that shortcut), ACKs assembled from
// prebuilt parts, convergence kept as counters rather than event logs.
import http2 from "node:http2";
import { parseArgs } from "node:util";
import { now } from "./lib/clock.js";
import { HttpError, serveControl } from "./lib/control-http.js";
import { readFixture } from "./lib/fixture-file.js";
import { delayMs, loopDelayMonitor } from "./lib/loop-delay.js";
import { Convergence } from "./loadgen/convergence.js";
import { dialectFor, parseProtocol } from "./loadgen/dialect.js";
import { FixtureIndex } from "./loadgen/fixture-index.js";
import { LoadStats } from "./loadgen/load-stats.js";
import { SimulatedProxy, type ProxyContext } from "./loadgen/proxy.js";
import { VerifiedRegions } from "./loadgen/verified-regions.js";

const { values } = parseArgs({
  options: {
    fixture: { type: "string" },
    "xds-port": { type: "string" },
    "control-port": { type: "string" },
    "max-clients": { type: "string", default: "10000" },
    verify: { type: "string", default: "bytes" },
    protocol: { type: "string", default: "sotw" },
    // Envoy's default HTTP/2 windows for gRPC are 256 MiB (initial_stream_window_size); 16 MiB is already far
    // above the largest response here (~1.1 MB), so flow control never throttles a push.
    window: { type: "string", default: String(16 << 20) },
  },
});
if (!values.fixture || !values["xds-port"] || !values["control-port"]) {
  console.error("usage: loadgen.js --fixture F --xds-port P --control-port C [--max-clients N] [--protocol sotw|delta] [--verify bytes|sha256]");
  process.exit(2);
}
const xdsUrls = values["xds-port"].split(",").map((port) => `http://127.0.0.1:${port}`);
const capacity = Number(values["max-clients"]);
const windowSize = Number(values.window);
const verify = values.verify === "sha256" ? "sha256" : "bytes";

const index = new FixtureIndex(readFixture(values.fixture));
const convergence = new Convergence(index, capacity);
const stats = new LoadStats(index.types.length);
const verified = new VerifiedRegions(index.types.length);
const dialect = dialectFor(parseProtocol(values.protocol), index);
const ctx: ProxyContext = {
  index,
  dialect,
  convergence,
  stats,
  verify,
  verified,
  subscribed: new Set(index.presentTypes().map((t) => t.index)),
};

const proxies: SimulatedProxy[] = [];
const sessions: http2.ClientHttp2Session[] = [];
let connecting: NodeJS.Timeout | undefined;

function openSession(): http2.ClientHttp2Session {
  const session = http2.connect(xdsUrls[sessions.length % xdsUrls.length], {
    settings: { initialWindowSize: windowSize, enablePush: false },
    // A 1 MB response to each of many streams of one connection must not trip nghttp2's memory cap.
    maxSessionMemory: 256,
  });
  session.once("connect", () => {
    stats.sessionsConnected++;
    session.setLocalWindowSize(windowSize);
  });
  session.on("error", (err) => stats.error(`session: ${err.message}`));
  session.on("goaway", (code) => {
    stats.goaway(code);
    if (code !== http2.constants.NGHTTP2_NO_ERROR) stats.error(`GOAWAY ${code}`);
  });
  sessions.push(session);
  return session;
}

function connect(clients: number, spreadMs: number, perConnection: number): void {
  if (proxies.length + clients > capacity) throw new HttpError(400, `--max-clients is ${capacity}`);
  convergence.target += clients;
  const first = proxies.length;
  const startAt = now();
  let session: http2.ClientHttp2Session | undefined;
  let started = 0;
  const startDue = () => {
    const due = spreadMs <= 0 ? clients : Math.min(clients, Math.floor(((now() - startAt) / spreadMs) * clients) + 1);
    for (; started < due; started++) {
      const id = first + started;
      if (!session || started % perConnection === 0) session = openSession();
      const proxy = new SimulatedProxy(ctx, id);
      proxies.push(proxy);
      proxy.start(session);
    }
    if (started >= clients) {
      clearInterval(connecting);
      connecting = undefined;
      convergence.allStarted();
    }
  };
  // Bounded: the interval stops once `clients` proxies are started, at the latest spreadMs after the first.
  connecting = setInterval(startDue, 1);
  startDue();
}

async function disconnect(timeoutMs: number): Promise<{ closed: number; timedOut: boolean }> {
  if (connecting) clearInterval(connecting);
  for (const p of proxies) p.close();
  const closing = sessions.map(
    (s) =>
      new Promise<void>((resolve) => {
        if (s.closed || s.destroyed) return resolve();
        s.once("close", () => resolve());
        s.close();
      }),
  );
  let timedOut = false;
  await Promise.race([
    Promise.all(closing),
    new Promise<void>((resolve) =>
      setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs).unref(),
    ),
  ]);
  if (timedOut) for (const s of sessions) s.destroy();
  return { closed: sessions.length, timedOut };
}

const delay = loopDelayMonitor();
const timeoutOf = (q: URLSearchParams) => Number(q.get("timeoutMs") ?? 60_000);

const control = await serveControl(Number(values["control-port"]), {
  "GET /now": () => ({ now: now() }),
  "POST /connect": (_q, body) => {
    const b = (body ?? {}) as { clients?: number; spreadMs?: number; streamsPerConnection?: number };
    const clients = Number(b.clients ?? 0);
    if (!(clients > 0)) throw new HttpError(400, "clients must be > 0");
    connect(clients, Number(b.spreadMs ?? 0), Math.max(1, Number(b.streamsPerConnection ?? 1)));
    return { target: convergence.target };
  },
  "POST /track": (q) => {
    convergence.track(Number(q.get("step")), now());
    return { tracking: Number(q.get("step")) };
  },
  "GET /wait": async (q) => {
    if (q.get("initial") === "1") return convergence.waitInitial(timeoutOf(q));
    if (q.has("step")) return convergence.waitStep(Number(q.get("step")), timeoutOf(q));
    const type = index.types.find((t) => t.short === q.get("type") || t.typeUrl === q.get("type"));
    const nameId = type?.names.get(q.get("name") ?? "");
    if (!type || nameId === undefined) throw new HttpError(404, "unknown type or name");
    const version = index.versionByHash(nameId, q.get("hash") ?? "");
    if (version < 0) throw new HttpError(404, "no version of that name has that hash");
    return convergence.waitVersion(version, timeoutOf(q));
  },
  "POST /disconnect": () => disconnect(30_000),
  "GET /stats": (q) => {
    const usage = process.resourceUsage();
    const out = {
      now: now(),
      protocol: dialect.protocol,
      target: convergence.target,
      started: convergence.started,
      live: convergence.live,
      lost: convergence.lost,
      complete: convergence.complete,
      ...stats.toJSON(),
      verifiedRegions: { hits: verified.hits, misses: verified.misses },
      rssBytes: process.memoryUsage.rss(),
      cpuUserMs: usage.userCPUTime / 1000,
      cpuSystemMs: usage.systemCPUTime / 1000,
      eventLoopDelayP99Ms: delayMs(delay.percentile(99)),
      eventLoopDelayMaxMs: delayMs(delay.max),
    };
    if (q.get("reset") === "1") {
      delay.reset();
      stats.transferUs.reset();
      stats.handleUs.reset();
    }
    return out;
  },
});

process.once("SIGTERM", () => {
  control.close();
  control.closeAllConnections();
  for (const s of sessions) s.destroy();
  process.exit(0);
});
