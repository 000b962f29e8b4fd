// The floor: the least work any xDS server can do to deliver the scenario's bytes. node:http2 with no gRPC
// library and no protocol state beyond "has this stream asked for this type yet": each response is encoded and
// gRPC-framed once per (state, type), and the same Buffer object is written to every stream. Whatever xdsd spends
// above this is the cost of its protocol handling, not of Node's HTTP/2 or of the bytes themselves.
//
// What it serves, per stream: the first request of a type gets the whole current state of that type (requested
// names are ignored: the load generator subscribes to all of them); after a step, every stream that has been
// answered a type gets the new response for it — the complete set for LDS/CDS (SotW: absence is deletion), only
// the upserted resources for EDS/RDS (the least a correct SotW server must send). ACKs and NACKs are skimmed for
// their type and error_detail only (lib/wire.ts) and never waited for. Version and nonce are fixed per state: "<step>" and "<step>-<type>".
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { DiscoveryResponseSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { applyStep, readFixture, type FixtureState } from "../lib/fixture-file.js";
import { grpcFrame, GrpcMessageReader } from "../lib/grpc-frames.js";
import { skimDiscoveryRequest } from "../lib/wire.js";
import { runControl, serverArgs } from "./node-control.js";

const adsPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
/** SotW types whose every response carries the complete set (xDS spec); the others carry changes only. */
const fullStateTypes = new Set<string>([TypeUrl.Cluster, TypeUrl.Listener]);

const args = serverArgs();
const fixture = readFixture(args.fixture);
const state: FixtureState = new Map();
let step = 0;
applyStep(state, fixture.steps[0]);
/** Full-state frame per type for the current state, built on first use after each change. */
const fullFrames = new Map<string, Buffer>();
const versionOf = new Map<string, number>(); // type URL → step that last changed it

function responseFrame(typeUrl: string, resources: Iterable<Buffer>): Buffer {
  const version = String(versionOf.get(typeUrl) ?? 0);
  const body = toBinary(
    DiscoveryResponseSchema,
    create(DiscoveryResponseSchema, {
      versionInfo: version,
      typeUrl,
      nonce: `${version}-${typeUrl.slice(typeUrl.lastIndexOf(".") + 1)}`,
      resources: [...resources].map((value) => create(AnySchema, { typeUrl, value })),
    }),
  );
  return grpcFrame(body);
}

function fullFrame(typeUrl: string): Buffer {
  let f = fullFrames.get(typeUrl);
  if (!f) fullFrames.set(typeUrl, (f = responseFrame(typeUrl, state.get(typeUrl)?.values() ?? [])));
  return f;
}

/** One ADS stream: what it has been answered, and its write queue while the socket pushes back. */
class FloorStream {
  readonly answered = new Set<string>();
  readonly #queue: Buffer[] = [];
  #head = 0;
  #blocked = false;

  constructor(readonly stream: http2.ServerHttp2Stream) {
    stream.on("drain", () => this.#drain());
  }

  send(frame: Buffer): void {
    if (this.stream.destroyed) return;
    if (this.#blocked) {
      this.#queue.push(frame);
      return;
    }
    // write() returning false means "buffered, but stop": the Buffer is kept by reference, not copied.
    if (!this.stream.write(frame)) this.#blocked = true;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  #drain(): void {
    this.#blocked = false;
    while (this.#head < this.#queue.length) {
      const frame = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined as unknown as Buffer;
      if (!this.stream.write(frame)) {
        this.#blocked = true;
        break;
      }
    }
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
  }
}

const streams = new Set<FloorStream>();
let requests = 0;
let nacks = 0;
let streamErrors = 0;

const server = http2.createServer({
  // Large windows so that flow control never throttles a 1 MB response (the generator advertises the same).
  settings: { initialWindowSize: 16 << 20 },
  maxSessionMemory: 256,
});
server.on("session", (session) => {
  session.on("error", () => streamErrors++);
  session.once("connect", () => session.setLocalWindowSize(16 << 20));
});
server.on("stream", (stream, headers) => {
  if (headers[":path"] !== adsPath) {
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
    return;
  }
  stream.respond({ ":status": 200, "content-type": "application/grpc" });
  const s = new FloorStream(stream);
  streams.add(s);
  const reader = new GrpcMessageReader((message) => {
    requests++;
    const { typeUrl, nack } = skimDiscoveryRequest(message);
    if (nack) nacks++;
    if (!s.answered.has(typeUrl)) {
      s.answered.add(typeUrl);
      s.send(fullFrame(typeUrl));
    }
  });
  stream.on("data", (chunk: Buffer) => {
    try {
      reader.push(chunk, 0);
    } catch {
      streamErrors++;
      stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    }
  });
  stream.on("error", () => streamErrors++);
  stream.on("close", () => streams.delete(s));
});

await new Promise<void>((resolve, reject) => {
  server.once("error", reject);
  server.listen(args.xdsPort, "127.0.0.1", resolve);
});

await runControl(args.controlPort, {
  step() {
    if (step + 1 >= fixture.steps.length) throw new Error(`no step ${step + 1}: the fixture has ${fixture.steps.length} steps`);
    step++;
    const next = fixture.steps[step];
    const changed = applyStep(state, next);
    const pushes = new Map<string, Buffer>();
    for (const typeUrl of changed) {
      versionOf.set(typeUrl, step);
      fullFrames.delete(typeUrl);
      const frame = fullStateTypes.has(typeUrl)
        ? fullFrame(typeUrl)
        : responseFrame(
            typeUrl,
            next.upserts.filter((u) => u.typeUrl === typeUrl).map((u) => u.value),
          );
      pushes.set(typeUrl, frame);
    }
    // One synchronous loop: each write only queues a reference to the shared Buffer.
    for (const s of streams) for (const [typeUrl, frame] of pushes) if (s.answered.has(typeUrl)) s.send(frame);
    return step;
  },
  stats() {
    let queued = 0;
    for (const s of streams) queued += s.queued;
    return { streams: streams.size, requests, nacks, streamErrors, queuedFrames: queued };
  },
  close() {
    for (const s of streams) s.stream.close();
    return new Promise<void>((resolve) => {
      server.close(() => resolve());
      setTimeout(resolve, 1000).unref();
    });
  },
});
