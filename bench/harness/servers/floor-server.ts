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
//
// Delta (DeltaAggregatedResources, told by the stream's path as any xDS server tells it): the same, with the
// least a correct delta server must send — the first request of a type gets every resource of that type, a step
// gets the upserted resources of every type it changed and the names it removed, for CDS and LDS too. Each
// resource's version is the step that last set it. Subscription changes after the first request are not
// looked at (the generator subscribes to everything the fixture has, as in SotW).
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema } from "../../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../../src/resource/type-urls.js";
import { adsPaths } from "../loadgen/dialect.js";
import { applyStep, readFixture, type FixtureState, type FixtureStep } from "../lib/fixture-file.js";
import { grpcFrame, GrpcMessageReader } from "../lib/grpc-frames.js";
import { skimDiscoveryRequest } from "../lib/wire.js";
import { runControl, serverArgs } from "./node-control.js";

/** SotW types whose every response carries the complete set (xDS spec); the others carry changes only. */
const fullStateTypes = new Set<string>([TypeUrl.Cluster, TypeUrl.Listener]);

const args = serverArgs();
const fixture = readFixture(args.fixture);
const state: FixtureState = new Map();
let step = 0;
/** Delta: per type, the step that last set each resource (its version). */
const resourceStep = new Map<string, Map<string, number>>();
function record(i: number, s: FixtureStep): Set<string> {
  for (const u of s.upserts) {
    let names = resourceStep.get(u.typeUrl);
    if (!names) resourceStep.set(u.typeUrl, (names = new Map()));
    names.set(u.name, i);
  }
  for (const r of s.removes) resourceStep.get(r.typeUrl)?.delete(r.name);
  return applyStep(state, s);
}
record(0, fixture.steps[0]);
/** Full-state frame per protocol and type for the current state, built on first use after each change. */
const fullFrames = { sotw: new Map<string, Buffer>(), delta: new Map<string, Buffer>() };
const versionOf = new Map<string, number>(); // type URL → step that last changed it

function nonceOf(typeUrl: string, version: string): string {
  return `${version}-${typeUrl.slice(typeUrl.lastIndexOf(".") + 1)}`;
}

function responseFrame(typeUrl: string, resources: Iterable<Buffer>): Buffer {
  const version = String(versionOf.get(typeUrl) ?? 0);
  const body = toBinary(
    DiscoveryResponseSchema,
    create(DiscoveryResponseSchema, {
      versionInfo: version,
      typeUrl,
      nonce: nonceOf(typeUrl, version),
      resources: [...resources].map((value) => create(AnySchema, { typeUrl, value })),
    }),
  );
  return grpcFrame(body);
}

/** A delta response: these resources (by name, from the current state) and these removed names. */
function deltaFrame(typeUrl: string, names: Iterable<string>, removed: string[]): Buffer {
  const version = String(versionOf.get(typeUrl) ?? 0);
  const values = state.get(typeUrl);
  const steps = resourceStep.get(typeUrl);
  const body = toBinary(
    DeltaDiscoveryResponseSchema,
    create(DeltaDiscoveryResponseSchema, {
      systemVersionInfo: version,
      typeUrl,
      nonce: nonceOf(typeUrl, version),
      resources: [...names].map((name) => ({
        name,
        version: String(steps?.get(name) ?? 0),
        resource: create(AnySchema, { typeUrl, value: values?.get(name) }),
      })),
      removedResources: removed,
    }),
  );
  return grpcFrame(body);
}

function fullFrame(typeUrl: string, delta: boolean): Buffer {
  const frames = delta ? fullFrames.delta : fullFrames.sotw;
  let f = frames.get(typeUrl);
  if (!f) {
    const names = state.get(typeUrl);
    f = delta ? deltaFrame(typeUrl, names?.keys() ?? [], []) : responseFrame(typeUrl, names?.values() ?? []);
    frames.set(typeUrl, f);
  }
  return f;
}

/** One ADS stream: its protocol, what it has been answered, and its write queue while the socket pushes back. */
class FloorStream {
  readonly answered = new Set<string>();
  readonly #queue: Buffer[] = [];
  #head = 0;
  #blocked = false;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly delta: boolean,
  ) {
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
  const path = headers[":path"];
  if (path !== adsPaths.sotw && path !== adsPaths.delta) {
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
    return;
  }
  stream.respond({ ":status": 200, "content-type": "application/grpc" });
  const s = new FloorStream(stream, path === adsPaths.delta);
  streams.add(s);
  const reader = new GrpcMessageReader((message) => {
    requests++;
    const { typeUrl, nack } = skimDiscoveryRequest(message, s.delta);
    if (nack) nacks++;
    if (!s.answered.has(typeUrl)) {
      s.answered.add(typeUrl);
      s.send(fullFrame(typeUrl, s.delta));
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
    const changed = record(step, next);
    // Frames are built for a protocol only if a stream speaks it (a run uses one).
    let sotw = false;
    let delta = false;
    for (const s of streams) {
      if (s.delta) delta = true;
      else sotw = true;
    }
    const pushes = { sotw: new Map<string, Buffer>(), delta: new Map<string, Buffer>() };
    for (const typeUrl of changed) {
      versionOf.set(typeUrl, step);
      fullFrames.sotw.delete(typeUrl);
      fullFrames.delta.delete(typeUrl);
      const upserted = next.upserts.filter((u) => u.typeUrl === typeUrl);
      if (sotw) {
        const values = upserted.map((u) => u.value);
        pushes.sotw.set(typeUrl, fullStateTypes.has(typeUrl) ? fullFrame(typeUrl, false) : responseFrame(typeUrl, values));
      }
      if (delta) {
        const removed = next.removes.filter((r) => r.typeUrl === typeUrl).map((r) => r.name);
        pushes.delta.set(typeUrl, deltaFrame(typeUrl, new Set(upserted.map((u) => u.name)), removed));
      }
    }
    // One synchronous loop: each write only queues a reference to the shared Buffer.
    for (const s of streams) for (const [typeUrl, frame] of s.delta ? pushes.delta : pushes.sotw) if (s.answered.has(typeUrl)) s.send(frame);
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
