// One simulated proxy: one ADS stream, state of the world or incremental (delta), subscribing the way Envoy does
// and ACKing every response as soon as it is read. What differs between the two protocols is in dialect.ts; the
// subscription order, the verification and the convergence bookkeeping here are the same for both.
//
// Subscription order, as Envoy 1.x does it on a fresh stream (the node is sent on the first request only, like
// Envoy's set_node_on_first_message_only):
//   1. CDS, wildcard.
//   2. On each CDS response: if the clusters' EDS names changed, an EDS request for them — sent before the CDS
//      ACK, because Envoy pauses CDS while the new clusters warm — then the CDS ACK.
//   3. On the first EDS response (clusters warmed): LDS, wildcard; on each LDS response, RDS for the route names of
//      the listeners, then the LDS ACK.
// In delta, "the EDS names changed" is sent as the names added and removed; in SotW as the whole list.
// Types absent from the fixture's step 0 are not subscribed (an empty LDS subscription would only measure how
// each server answers an empty type). Resources are never decoded: the response is skimmed (lib/wire.ts) and each
// resource is matched to a fixture version by its bytes (or its SHA-256 with --verify sha256). A delta resource
// must also carry, in its `Resource` wrapper, the name of the resource it wraps.
//
// The stream is HTTP/2 from node:http2, with gRPC framing done here: grpc-js would cost the generator more than
// some servers under test.
import http2 from "node:http2";
import { createHash } from "node:crypto";
import { now } from "../lib/clock.js";
import { grpcFrameParts, GrpcMessageReader } from "../lib/grpc-frames.js";
import { rangeStride, skimResources, type SkimmedResponse } from "../lib/wire.js";
import type { Convergence } from "./convergence.js";
import type { Dialect, SubscriptionChange, TypeExchange } from "./dialect.js";
import type { FixtureIndex, TypeInfo } from "./fixture-index.js";
import type { LoadStats } from "./load-stats.js";
import type { VerifiedRegions } from "./verified-regions.js";

export interface ProxyContext {
  index: FixtureIndex;
  /** The protocol every proxy of this generator speaks. */
  dialect: Dialect;
  convergence: Convergence;
  stats: LoadStats;
  verify: "bytes" | "sha256";
  verified: VerifiedRegions;
  /** Types subscribed by this scenario (see above). */
  subscribed: ReadonlySet<number>;
}

class TypeStream implements TypeExchange {
  requested = false;
  version = "";
  nonce = "";
  tail: Buffer = Buffer.alloc(0);
  /** Named types only: which names are subscribed (flags by name id). */
  names: Uint8Array | undefined;
  responses = 0;
}

// Scratch shared by all clients (one thread, one response at a time): which names a response carried.
let mark = new Uint32Array(0);
let stamp = 0;
const changedNames: number[] = [];
const changedVersions: number[] = [];
let skimmed: SkimmedResponse;

export class SimulatedProxy {
  readonly #ctx: ProxyContext;
  readonly #types: TypeStream[];
  #stream: http2.ClientHttp2Stream | undefined;
  #closing = false;
  #lost = false;
  #nodeSent = false;

  constructor(
    ctx: ProxyContext,
    readonly id: number,
  ) {
    this.#ctx = ctx;
    this.#types = ctx.index.types.map(() => new TypeStream());
    if (mark.length < ctx.index.nameCount) mark = new Uint32Array(ctx.index.nameCount);
  }

  start(session: http2.ClientHttp2Session): void {
    const { stats, convergence, index } = this.#ctx;
    convergence.clientStarted(this.id, now());
    const stream = session.request(
      { ":method": "POST", ":path": this.#ctx.dialect.path, "content-type": "application/grpc", te: "trailers" },
      { endStream: false },
    );
    this.#stream = stream;
    const reader = new GrpcMessageReader((message) => this.#onResponse(message, reader.messageStartedAt));
    stream.on("response", (headers) => {
      const status = headers[":status"];
      if (status !== 200) stats.error(`HTTP status ${status}`);
      if (headers["grpc-status"] !== undefined) stats.grpcStatus(String(headers["grpc-status"]), String(headers["grpc-message"] ?? ""));
    });
    stream.on("trailers", (trailers) => stats.grpcStatus(String(trailers["grpc-status"]), String(trailers["grpc-message"] ?? "")));
    stream.on("data", (chunk: Buffer) => {
      stats.bytesReceived += chunk.length;
      try {
        reader.push(chunk, now());
      } catch (err) {
        stats.error((err as Error).message);
        stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      }
    });
    stream.on("error", (err) => {
      if (!this.#closing) stats.error(`stream: ${err.message}`);
    });
    stream.on("close", () => {
      // Why a stream ended that the generator did not end: RST_STREAM code (0 = NO_ERROR, after END_STREAM).
      if (!this.#closing) stats.closeCode(stream.rstCode);
      this.#gone();
    });
    const first = index.types.find((t) => this.#ctx.subscribed.has(t.index) && t.wildcard);
    if (first) this.#request(first);
  }

  /** Ends the stream on purpose (RST_STREAM CANCEL, as a proxy going away does). */
  close(): void {
    this.#closing = true;
    if (this.#stream && !this.#stream.closed) this.#stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  #gone(): void {
    if (this.#lost) return;
    this.#lost = true;
    if (!this.#closing) this.#ctx.stats.disconnects++;
    this.#ctx.convergence.clientLost(this.id);
  }

  /** A request for a type: its first subscription (`change` undefined for a wildcard type), or a subscription change. */
  #request(type: TypeInfo, change?: SubscriptionChange): void {
    const ts = this.#types[type.index];
    ts.requested = true;
    const nodeOf = this.#nodeSent ? undefined : this.id;
    this.#nodeSent = true;
    this.#write(grpcFrameParts(this.#ctx.dialect.subscribe(type, ts, type.wildcard ? undefined : (change ?? noChange), nodeOf)));
    this.#ctx.stats.requests++;
  }

  #write(frame: Buffer): void {
    // Requests are small and answered one by one; the HTTP/2 stream buffers them if the socket pushes back.
    this.#stream?.write(frame);
  }

  #onResponse(message: Buffer, startedAt: number): void {
    const receivedAt = now();
    const { index, stats, convergence, dialect } = this.#ctx;
    let r: SkimmedResponse;
    try {
      r = skimmed = dialect.skim(message);
    } catch (err) {
      stats.error(`malformed response: ${(err as Error).message}`);
      return;
    }
    stats.responses++;
    const type = index.typeByUrl.get(r.typeUrl);
    if (!type || !this.#types[type.index].requested) {
      stats.anomaly("unrequestedType", `response of type ${r.typeUrl}`);
      return;
    }
    stats.responsesByType[type.index]++;
    const ts = this.#types[type.index];
    ts.responses++;

    // 1. Match every resource to a fixture version: once per distinct content (verified-regions.ts), then apply
    //    the verdict to this client.
    changedNames.length = 0;
    changedVersions.length = 0;
    let refsChanged = false;
    const known = r.contiguous && r.count > 0 ? this.#ctx.verified.find(type.index, message, r.regionStart, r.regionEnd) : undefined;
    if (known) stats.encodingDiffs += known.encodingDiffs;
    const verdict = known ?? this.#verify(message, type);
    const mine = ++stamp; // names this response carries
    const nameIds = verdict.nameIds;
    const versionIds = verdict.versionIds;
    for (let k = 0; k < nameIds.length; k++) {
      const nameId = nameIds[k];
      mark[nameId] = mine;
      if (ts.names && !ts.names[nameId]) {
        stats.anomaly("unrequestedResource", `${type.short} ${index.nameText[nameId]} not subscribed`);
        continue;
      }
      const v = versionIds[k];
      const held = convergence.held(this.id, nameId);
      if (held !== v) {
        changedNames.push(nameId);
        changedVersions.push(v);
        if (!sameRefs(index, held, v)) refsChanged = true;
      }
    }
    // 2. SotW LDS/CDS: a name missing from the response is deleted. Delta: the names it says are removed.
    if (dialect.absenceDeletes && type.fullState) {
      for (const nameId of type.nameIds) {
        const held = convergence.held(this.id, nameId);
        if (mark[nameId] !== mine && held !== -1) {
          changedNames.push(nameId);
          changedVersions.push(-1);
          if (!sameRefs(index, held, -1)) refsChanged = true;
        }
      }
    }
    for (let k = 0; k < r.removedCount; k++) {
      const name = message.toString("latin1", r.removedRanges[k * 2], r.removedRanges[k * 2 + 1]);
      const nameId = type.names.get(name);
      if (nameId === undefined) {
        stats.anomaly("unknownRemoved", `${type.short} ${name} removed, not in the fixture`);
        continue;
      }
      if (mark[nameId] === mine) {
        stats.anomaly("removedAndSent", `${type.short} ${name} both sent and removed in one response`);
        continue;
      }
      const held = convergence.held(this.id, nameId);
      if (held !== -1) {
        changedNames.push(nameId);
        changedVersions.push(-1);
        if (!sameRefs(index, held, -1)) refsChanged = true;
      }
    }
    // 3. Dependent subscription (EDS for clusters, RDS for listeners) before the ACK, as Envoy does.
    let dependent: TypeInfo | undefined;
    let dropped: number[] = [];
    // Re-derived only when a reference may have changed (a resource added, removed, or its references edited),
    // or on the first response.
    if ((refsChanged || ts.responses === 1) && type.wildcard) {
      const result = this.#dependentNames(type);
      if (result) {
        dependent = result.type;
        dropped = result.dropped;
        this.#request(result.type, result);
      }
    }
    // 4. ACK.
    this.#write(grpcFrameParts(dialect.ack(type, ts, r)));
    const ackAt = now();
    stats.acks++;
    stats.recordResponse(receivedAt - startedAt, ackAt - receivedAt);
    // 5. The client now holds what it ACKed.
    const names = changedNames.slice();
    const versions = changedVersions.slice();
    for (let i = 0; i < names.length; i++) convergence.set(this.id, names[i], versions[i], ackAt);
    for (const n of dropped) convergence.set(this.id, n, -1, ackAt);
    // 6. After the first EDS response (or the first CDS one if no cluster uses EDS), LDS.
    const noEds = type.dependent !== undefined && !dependent && !this.#types[type.dependent].requested;
    if (ts.responses === 1 && (type.short === "eds" || (type.short === "cds" && noEds))) {
      const lds = index.types.find((t) => t.short === "lds");
      if (lds && this.#ctx.subscribed.has(lds.index) && !this.#types[lds.index].requested) this.#request(lds);
    }
  }

  /**
   * Checks each resource of the last skimmed response against the fixture: its Any type, its name, its bytes.
   * Returns the (name, version) pairs that matched; a clean result is remembered for identical responses.
   */
  #verify(message: Buffer, type: TypeInfo): { nameIds: ArrayLike<number>; versionIds: ArrayLike<number> } {
    // A resource whose bytes match no fixture version but whose message does is accepted (the client holds that
    // version) and counted as an encoding difference: byte identity is reported, convergence still measured.
    const { index, stats } = this.#ctx;
    const r = skimmed;
    skimResources(message, r);
    const nameIds: number[] = [];
    const versionIds: number[] = [];
    let clean = true;
    let encodingDiffs = 0;
    const seen = ++stamp; // names seen in this response, to catch duplicates
    const ranges = r.ranges;
    for (let k = 0; k < r.count; k++) {
      const o = k * rangeStride;
      const tStart = ranges[o];
      const tEnd = ranges[o + 1];
      const vStart = ranges[o + 2];
      const vEnd = ranges[o + 3];
      if (tStart < 0 || tEnd - tStart !== type.typeUrlBytes.length || type.typeUrlBytes.compare(message, tStart, tEnd) !== 0) {
        stats.anomaly("anyTypeMismatch", `a resource in a ${type.short} response has another type`);
        clean = false;
        continue;
      }
      if (ranges[o + 4] < 0 || vStart < 0) {
        stats.mismatch(type.short, "(no name)", "", vStart < 0 ? "" : sha256(message, vStart, vEnd));
        clean = false;
        continue;
      }
      const name = message.toString("latin1", ranges[o + 4], ranges[o + 5]);
      // Delta: the Resource's name must be the name of the resource it carries (a proxy files it under the former).
      if (r.delta && !sameBytes(message, ranges[o + 6], ranges[o + 7], ranges[o + 4], ranges[o + 5])) {
        stats.anomaly("resourceNameMismatch", `${type.short} ${name} wrapped under another name`);
        clean = false;
        continue;
      }
      const nameId = type.names.get(name);
      if (nameId === undefined) {
        stats.mismatch(type.short, name, "(not in fixture)", sha256(message, vStart, vEnd));
        clean = false;
        continue;
      }
      if (mark[nameId] === seen) {
        stats.anomaly("duplicateName", `${type.short} ${name} twice in one response`);
        clean = false;
        continue;
      }
      mark[nameId] = seen;
      let v = this.#ctx.verify === "bytes" ? index.findVersion(nameId, message, vStart, vEnd) : index.versionByHash(nameId, sha256(message, vStart, vEnd));
      if (v >= 0 && index.matchedAlias) {
        stats.encodingDiffs++;
        encodingDiffs++;
      } else if (v < 0) {
        // Not byte-identical to any version: the same message encoded differently, or really different content.
        const versions = index.versionsOfName[nameId];
        const expected = index.hash(versions[versions.length - 1]);
        const received = sha256(message, vStart, vEnd);
        v = index.findVersion(nameId, message, vStart, vEnd); // --verify sha256: a known alias?
        if (v < 0) v = index.findCanonical(nameId, message, vStart, vEnd);
        if (v < 0) {
          stats.mismatch(type.short, name, expected, received);
          clean = false;
          continue;
        }
        stats.encodingDiff(type.short, name, index.hash(v), received);
        encodingDiffs++;
      }
      nameIds.push(nameId);
      versionIds.push(v);
    }
    if (clean && r.contiguous && r.count > 0) this.#ctx.verified.add(type.index, message, r.regionStart, r.regionEnd, nameIds, versionIds, encodingDiffs);
    return { nameIds, versionIds };
  }

  /**
   * The names the dependent type should now be subscribed to: the references of every resource of `type` the
   * client will hold after this response, with the names this adds and removes, and the removed ones the client
   * held (it drops them). Undefined if unchanged.
   */
  #dependentNames(type: TypeInfo): (SubscriptionChange & { type: TypeInfo; names: number[]; dropped: number[] }) | undefined {
    const { index, convergence } = this.#ctx;
    const after = new Map<number, number>();
    for (let i = 0; i < changedNames.length; i++) after.set(changedNames[i], changedVersions[i]);
    let depType: TypeInfo | undefined;
    const wanted = new Set<number>();
    for (const nameId of type.nameIds) {
      const v = after.has(nameId) ? after.get(nameId)! : convergence.held(this.id, nameId);
      if (v < 0) continue;
      for (const ref of index.versionRefs[v]) {
        wanted.add(ref);
        depType ??= index.types[index.nameType[ref]];
      }
    }
    if (!depType) {
      // Nothing references anything (yet): if a dependent type was subscribed, its names are all dropped.
      if (type.dependent === undefined || !this.#ctx.subscribed.has(type.dependent)) return undefined;
      depType = index.types[type.dependent];
    }
    const ds = this.#types[depType.index];
    ds.names ??= new Uint8Array(index.nameCount);
    const added: number[] = [];
    const removed: number[] = [];
    const dropped: number[] = [];
    for (const n of depType.nameIds) {
      const want = wanted.has(n) ? 1 : 0;
      if (ds.names[n] !== want) {
        if (want) added.push(n);
        else {
          removed.push(n);
          if (convergence.held(this.id, n) !== -1) dropped.push(n);
        }
        ds.names[n] = want;
      }
    }
    if (added.length === 0 && removed.length === 0 && ds.requested) return undefined;
    const names = depType.nameIds.filter((n) => ds.names![n]);
    return { type: depType, names, added, removed, dropped };
  }
}

/** Whether two versions (-1: none) reference the same names. */
function sameRefs(index: FixtureIndex, a: number, b: number): boolean {
  const ra = a < 0 ? noRefs : index.versionRefs[a];
  const rb = b < 0 ? noRefs : index.versionRefs[b];
  if (ra.length !== rb.length) return false;
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return false;
  return true;
}
const noRefs: number[] = [];

/** Whether buf[aStart, aEnd) and buf[bStart, bEnd) hold the same bytes (false if the first range is absent: -1). */
function sameBytes(buf: Buffer, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart >= 0 && aEnd - aStart === bEnd - bStart && buf.compare(buf, aStart, aEnd, bStart, bEnd) === 0;
}

const noChange: SubscriptionChange = { names: [], added: [], removed: [] };

function sha256(buf: Buffer, start: number, end: number): string {
  return createHash("sha256").update(buf.subarray(start, end)).digest("hex");
}
