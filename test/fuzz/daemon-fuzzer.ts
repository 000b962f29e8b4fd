// A seeded, bounded fuzzer for a running `xdsd serve`: malformed gRPC frames, absurd DiscoveryRequests, RST storms,
// abandoned streams, random admin requests and mutated configs, all on loopback. Shared by the bounded test in
// `npm test` (daemon-fuzz.test.ts) and the longer `npm run fuzz` (run-fuzz.ts). Every loop is bounded in count
// and in time; every call has a deadline so that a hang is a finding, not a stuck run.
import http2 from "node:http2";
import { connect as netConnect } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { node } from "../support/resources.js";
import { adsPath, connect, grpcFrame, openCall, type CallEnd } from "../support/raw-grpc.js";
import type { XdsdHandle } from "../support/xdsd.js";

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzOptions {
  seed: number;
  /** Multiplies every probe's count (1 in `npm test`). */
  scale: number;
  /** Wall-clock budget per probe, in ms. */
  probeMs: number;
  /** A valid config for the daemon, mutated by the config probe. */
  goodConfig: string;
}

/** Per probe: what was sent and how the server answered (status or outcome → count). */
export type FuzzReport = Record<string, { sent: number; outcomes: Record<string, number>; rssAfterMb?: number }>;

const perTypePaths = [
  adsPath,
  "/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters",
  "/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints",
  "/no.Such/Method",
];

export async function fuzzDaemon(xdsd: XdsdHandle, o: FuzzOptions): Promise<FuzzReport> {
  const random = prng(o.seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const report: FuzzReport = {};
  const count = (probe: string, outcome: string) => {
    const r = (report[probe] ??= { sent: 0, outcomes: {} });
    r.outcomes[outcome] = (r.outcomes[outcome] ?? 0) + 1;
  };
  const sent = (probe: string) => (report[probe] ??= { sent: 0, outcomes: {} }).sent++;
  const address = `127.0.0.1:${xdsd.xdsPort}`;
  /** Records the daemon's RSS against the probe that just ran. */
  const markRss = () => {
    const last = Object.values(report).at(-1);
    if (last) last.rssAfterMb = Math.round(xdsd.rssBytes() / 2 ** 20);
  };
  const within = <T>(p: Promise<T>, ms: number, fallback: T) => Promise.race([p, new Promise<T>((r) => setTimeout(() => r(fallback), ms))]);
  const describe = (end: CallEnd | undefined) =>
    end === undefined ? "no end within deadline" : end.status !== undefined ? `grpc-status ${end.status}` : `reset ${end.rstCode}`;

  /** Runs `one` up to `n` times, `parallel` at once, until the probe's time is up. */
  const run = async (n: number, parallel: number, one: (i: number) => Promise<void>) => {
    const deadline = performance.now() + o.probeMs;
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < n && performance.now() < deadline) await one(next++);
      }),
    );
  };

  // 1. Malformed frames: noise, lying lengths, compressed flags, good headers with garbage payloads.
  {
    const session = await connect(address);
    session.on("error", () => {});
    await run(300 * o.scale, 8, async () => {
      if (session.destroyed) return;
      sent("malformed frames");
      const call = openCall(session, pick(perTypePaths));
      const kind = int(4);
      const payload = bytes(int(2000));
      const frame =
        kind === 0
          ? payload
          : kind === 1
            ? grpcFrame(payload, int(2 ** 32))
            : kind === 2
              ? Buffer.concat([Buffer.from([1]), grpcFrame(payload).subarray(1)])
              : grpcFrame(payload);
      call.stream.end(frame);
      count("malformed frames", describe(await within(call.ended, 3000, undefined)));
    });
    session.destroy();
  }

  markRss();

  // 2. Absurd DiscoveryRequests: well-formed protobuf with contents no proxy sends.
  {
    const session = await connect(address);
    session.on("error", () => {});
    await run(60 * o.scale, 4, async () => {
      if (session.destroyed) return;
      sent("absurd requests");
      const names = Array.from({ length: pick([0, 1, 10_000, 50_000]) }, (_, i) => (int(3) === 0 ? "*" : `n${i}-${"x".repeat(int(40))}`));
      const request = create(DiscoveryRequestSchema, {
        node: int(4) === 0 ? undefined : node(`fuzz-${int(1e6)}`, "x".repeat(int(3) === 0 ? 100_000 : 5)),
        typeUrl: pick([TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, "", "type.googleapis.com/no.such.Type", "\u{1F600}".repeat(1000)]),
        resourceNames: names,
        versionInfo: "v".repeat(int(2) ? 10 : 200_000),
        responseNonce: pick(["", "1", "999999999", "n".repeat(100_000)]),
        errorDetail: int(3) === 0 ? { code: int(20), message: "e".repeat(int(300_000)) } : undefined,
      });
      const frame = toBinary(DiscoveryRequestSchema, request);
      const call = openCall(session, pick(perTypePaths));
      call.stream.write(grpcFrame(frame));
      // Some get a response and stay open; close them from our side after a moment.
      const end = await within(call.trailers, 500, undefined);
      count("absurd requests", end?.status !== undefined ? `grpc-status ${end.status}` : call.seen.messages > 0 ? "served" : "open, no answer yet");
      if (!call.stream.closed) call.stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    session.destroy();
  }

  markRss();

  // 3. RST storms: streams opened and reset at once, without waiting, on one connection.
  {
    const session = await connect(address);
    let goaway: number | undefined;
    session.on("goaway", (code) => (goaway = code));
    session.on("error", () => {});
    const ends: Promise<CallEnd>[] = [];
    await run(2000 * o.scale, 1, async () => {
      if (session.destroyed || session.closed || goaway !== undefined) return;
      sent("RST storm");
      const call = openCall(session);
      if (int(2))
        call.stream.write(grpcFrame(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node: node("storm"), typeUrl: TypeUrl.Cluster }))));
      call.stream.close(http2.constants.NGHTTP2_CANCEL);
      ends.push(call.ended);
      if (ends.length % 100 === 0) await new Promise((r) => setImmediate(r));
    });
    for (const end of await Promise.all(ends.map((e) => within(e, 3000, undefined)))) count("RST storm", describe(end));
    count("RST storm", goaway === undefined ? "connection kept" : `GOAWAY ${goaway}`);
    session.destroy();
  }

  markRss();

  // 4. Abandoned streams: partial messages, then the connection vanishes without a goodbye.
  await run(40 * o.scale, 4, async () => {
    sent("abandoned streams");
    const session = await connect(address);
    session.on("error", () => {});
    for (let i = 0; i < 5; i++) openCall(session).stream.write(grpcFrame(bytes(int(100_000)), 1_000_000));
    await new Promise((r) => setTimeout(r, int(50)));
    // Gone without GOAWAY, as a crashed proxy or a cut cable leaves it.
    session.destroy(new Error("abandoned"));
    count("abandoned streams", "connection dropped");
  });

  markRss();

  // 5. Random admin requests: odd methods, targets, headers and plain garbage on the admin port.
  {
    const { hostname, port } = new URL(xdsd.adminUrl);
    const targets = [
      "/",
      "//",
      "//[",
      "http://[",
      "//a:b@",
      "//a:99999",
      "//%",
      "///",
      "/healthz",
      "/config",
      "/nodes",
      "/%zz",
      "*",
      `/?${"a".repeat(5000)}`,
      "/\u00ff",
      "/..%2f..%2f",
    ];
    await run(300 * o.scale, 8, async () => {
      sent("admin requests");
      const method = pick(["GET", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "BREW", "G\u0000T", ""]);
      const target =
        int(3) === 0
          ? bytes(int(60))
              .toString("latin1")
              .replace(/[\r\n ]/g, "/")
          : pick(targets);
      const headers = int(4) === 0 ? `X-${"h".repeat(int(20_000))}: v\r\n` : int(5) === 0 ? "Content-Length: 99999999\r\n" : "";
      const raw = int(10) === 0 ? bytes(int(500)).toString("latin1") : `${method} ${target} HTTP/1.1\r\nHost: a\r\n${headers}Connection: close\r\n\r\n`;
      const outcome = await new Promise<string>((resolve) => {
        const socket = netConnect(Number(port), hostname, () => socket.write(raw, "latin1"));
        let data = "";
        const timer = setTimeout(() => {
          socket.destroy();
          const m = /^HTTP\/1\.1 (\d)\d\d/.exec(data);
          resolve(m ? `${m[1]}xx, connection still open after 2 s` : "no answer within 2 s");
        }, 2000);
        socket.on("data", (d) => (data += d.toString("latin1")));
        socket.on("error", () => {});
        socket.on("close", () => {
          clearTimeout(timer);
          const m = /^HTTP\/1\.1 (\d)\d\d/.exec(data);
          resolve(m ? `${m[1]}xx` : `closed without an answer (${JSON.stringify(raw.slice(0, 16))})`);
        });
      });
      count("admin requests", outcome);
    });
  }

  markRss();

  // 6. Mutated configs written over the watched file: each is published or refused, never a crash.
  await run(25 * o.scale, 1, async () => {
    sent("mutated configs");
    let text = o.goodConfig;
    for (let e = 0; e < 1 + int(4); e++) {
      const at = int(text.length + 1);
      const insert = pick(["", "[", "]", "{", "*a", "&a ", ": ", "\n- ", "  ", "port: -1", "\t", "clusters: *x\n", "[".repeat(5000), "'", "x".repeat(int(50))]);
      text = text.slice(0, at) + insert + text.slice(at + int(6));
    }
    const from = xdsd.log().length;
    xdsd.writeConfig(text);
    const line = await xdsd.waitForLog(/config \S+ (rejected|version \S+ published)/, 5_000, from).catch(() => "no verdict");
    count("mutated configs", /rejected/.test(line) ? "refused" : /published/.test(line) ? "published" : "unchanged or no verdict");
  });

  markRss();
  return report;
}
