// The xDS services over node:http2 directly: just the part of gRPC that they use (calls of every kind — unary to
// bidirectional — with uncompressed protobuf messages, status in trailers, deadlines).
//
// Why not grpc-js: it copies every outgoing message into a fresh buffer with its 5-byte header, per stream.
// Sending one 1 MB CDS response to 1,000 proxies then costs 1,000 copies (measured in ../shared lessons: ~2.9 s
// through grpc-js against ~0.94 s writing the same bytes with node:http2, with the event loop blocked meanwhile).
// Here a response goes out as two writes — a small buffer of its own (the 5-byte message header and the stream's
// nonce field, see grpcMessagePrefix), then the body shared by every stream sent the same content — and
// node:http2 sends them without copying the body.
//
// gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): requests are POSTs with content-type application/grpc;
// each message is a 1-byte compressed flag, a 4-byte big-endian length and the bytes; the response sends headers,
// messages, then trailers with grpc-status and grpc-message (percent-encoded). A call that fails before any
// message may answer with trailers only.
//
// Hostile or broken clients: every limit is in transport-limits.ts. A call that ends with an error while the client
// is still sending gets RST_STREAM(NO_ERROR) after its trailers (RFC 9113 §8.1: the server may ask the client to
// stop sending a request it has answered), so nothing more is read for it and its buffers are dropped at once.
import http2 from "node:http2";
import { grpcMessagePrefix, type WireResponse } from "./wire-response.js";
import { GrpcStatus, encodeGrpcMessage, type GrpcStatusCode } from "../../grpc-status.js";
import type { LiveCall, XdsCalls } from "../calls.js";
import type { ServiceEntry, XdsService } from "../service-table.js";
import type { Socket } from "node:net";
import { RestExchange } from "./rest-exchange.js";
import { ByteBudget } from "./byte-budget.js";
import { GrpcMessageReader } from "./grpc-message-reader.js";
import { GrpcFramingError } from "../../errors.js";
import { StreamRateLimit } from "./stream-rate-limit.js";
import { defaultTransportLimits, type TransportLimits } from "./transport-limits.js";
import { silentLogger, type Logger } from "../../log.js";
import { peerIdentity } from "./peer-identity.js";

export interface Http2TransportOptions extends Partial<TransportLimits> {
  /** Where connection-level trouble is reported (a client over a limit, a connection error). */
  log?: Logger;
}

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** What the transport keeps per connection. */
interface Connection {
  readonly peer: string;
  /** What the client's verified certificate names (mutual TLS); absent otherwise. */
  readonly identity: string | undefined;
  readonly buffered: ByteBudget;
  readonly streamRate: StreamRateLimit;
  /** The highest stream id accepted, for the GOAWAY that refuses more. */
  lastStreamId: number;
  openCalls: number;
  /** A GOAWAY was sent for going over the stream rate. */
  wentAway: boolean;
}

export class Http2Transport {
  readonly #server: http2.Http2Server;
  readonly #connections = new Map<http2.Http2Session, Connection>();
  readonly #limits: TransportLimits;
  readonly #buffered: ByteBudget;
  readonly #log: Logger;
  readonly #services: ReadonlyMap<string, XdsService>;
  /** REST-JSON polls over h2c (the same paths as over HTTP/1.1). */
  readonly rest: RestExchange;

  constructor(
    private readonly calls: XdsCalls,
    services: readonly ServiceEntry[],
    options: Http2TransportOptions = {},
  ) {
    this.#services = new Map(services.flatMap((s) => (s.kind === "grpc" ? [[s.path, s] as const] : [])));
    const { log, ...limits } = options;
    this.#limits = { ...defaultTransportLimits, ...stripUndefined(limits) };
    this.rest = new RestExchange(
      calls.polls,
      services.flatMap((s) => (s.kind === "poll" ? [s] : [])),
      this.#limits.maxRequestBytes,
    );
    this.#log = log ?? silentLogger;
    this.#buffered = new ByteBudget(this.#limits.maxBufferedBytes);
    // A big fan-out queues a lot of outgoing data per session; node's default cap (10 MB) would refuse new
    // streams on a connection that is merely slow to read a large CDS response.
    this.#server = http2.createServer({ maxSessionMemory: 256, settings: { maxConcurrentStreams: this.#limits.maxStreamsPerConnection } });
    this.#server.on("session", (session) => this.#onSession(session));
    this.#server.on("stream", (stream, headers) => this.#onStream(stream, headers));
  }

  /** Serves a connection the listener accepted (plaintext-listener.ts: it starts with the HTTP/2 preface). */
  accept(socket: Socket): void {
    this.#server.emit("connection", socket);
  }

  /** Bytes held for request messages being assembled, over all connections (for tests and status). */
  get bufferedBytes(): number {
    return this.#buffered.used;
  }

  /** Ends every call with UNAVAILABLE, then closes the connections, forcibly after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.calls.closeAll(GrpcStatus.UNAVAILABLE, "xdsd is shutting down", "server shutting down");
    const sessions = [...this.#connections.keys()];
    const closed = Promise.all(
      sessions.map((session) => new Promise<void>((resolve) => (session.closed ? resolve() : session.once("close", () => resolve())))),
    );
    for (const session of sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.#connections.keys()) session.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  #onSession(session: http2.ServerHttp2Session): void {
    const socket = session.socket;
    const peer = socket ? `${socket.remoteAddress}:${socket.remotePort}` : "unknown";
    const { maxBufferedBytesPerConnection, streamBurstPerConnection, streamsPerSecondPerConnection } = this.#limits;
    this.#connections.set(session, {
      peer,
      identity: peerIdentity(socket),
      buffered: new ByteBudget(maxBufferedBytesPerConnection, this.#buffered),
      streamRate: new StreamRateLimit(streamBurstPerConnection, streamsPerSecondPerConnection),
      lastStreamId: 0,
      openCalls: 0,
      wentAway: false,
    });
    this.#log.debug?.(`xDS connection from ${peer} opened`);
    session.on("close", () => {
      this.#connections.delete(session);
      this.#log.debug?.(`xDS connection from ${peer} closed`);
    });
    // A broken connection ends its streams, which is what matters; but say why, or a proxy's disconnects are a
    // mystery to the operator (nghttp2's own protections end connections this way too).
    session.on("error", (err: NodeJS.ErrnoException) => this.#log.warn(`xDS connection from ${peer} failed: ${err.code ?? ""} ${err.message}`.trim()));
    session.on("goaway", (code: number) => {
      if (code !== NGHTTP2_NO_ERROR) this.#log.warn(`xDS connection from ${peer}: the client sent GOAWAY with error code ${code}`);
    });
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // A stream closed with an error code (ours or the client's) emits 'error'; unheard, that would end the process.
    stream.on("error", ignore);
    const connection = this.#connections.get(stream.session!);
    if (!connection) return void stream.close(NGHTTP2_NO_ERROR);
    if (connection.wentAway || !connection.streamRate.take()) {
      this.#refuse(stream, connection);
      return;
    }
    connection.lastStreamId = Math.max(connection.lastStreamId, stream.id ?? 0);
    const path = headers[":path"] ?? "";
    const service = this.#services.get(path);
    const contentType = headers["content-type"] ?? "";
    // Anything that is not gRPC is plain HTTP: a REST-JSON poll, or an answer saying why not (404, 405, 415).
    if (!service && (this.rest.serves(path) || !contentType.startsWith("application/grpc"))) {
      this.#restPoll(stream, headers, connection.peer, connection.identity);
      return;
    }
    if (headers[":method"] !== "POST" || !contentType.startsWith("application/grpc")) {
      stream.respond({ ":status": 415 }, { endStream: true });
      stopReading(stream);
      return;
    }
    if (!service) {
      trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${headers[":path"]}`);
      stopReading(stream);
      return;
    }
    new Http2Call(stream, headers, service, this.calls, connection, new GrpcMessageReader(this.#limits.maxRequestBytes, connection.buffered));
  }

  /** A REST-JSON poll over h2c: one request, one answer, then the stream ends. */
  #restPoll(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, peer: string, identity: string | undefined): void {
    this.rest
      .answer({ method: headers[":method"] ?? "", path: headers[":path"] ?? "", contentType: headers["content-type"], peer, identity, body: stream })
      .then(
        (answer) => {
          if (stream.destroyed || stream.closed) return;
          stream.respond(
            { ":status": answer.status, ...(answer.body === undefined ? {} : { "content-type": answer.contentType ?? "application/json" }) },
            { endStream: answer.body === undefined },
          );
          if (answer.body !== undefined) stream.end(answer.body);
          stopReading(stream);
        },
        () => stream.close(NGHTTP2_NO_ERROR),
      );
  }

  /**
   * The connection opened streams faster than the limit: GOAWAY(ENHANCE_YOUR_CALM) naming the last stream accepted.
   * The streams it has keep being served until they end (RFC 9113 §6.8: streams up to the last stream identifier
   * may still complete); the client opens a new connection for anything more. A GOAWAY also stops nghttp2 from
   * counting the client's resets (it skips its rapid-reset check once a GOAWAY is submitted), so its own
   * INTERNAL_ERROR teardown of every stream cannot follow.
   */
  #refuse(stream: http2.ServerHttp2Stream, connection: Connection): void {
    const session = stream.session;
    stream.close(NGHTTP2_ENHANCE_YOUR_CALM);
    if (!session || connection.wentAway) return;
    connection.wentAway = true;
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, connection.lastStreamId);
    const { streamBurstPerConnection: burst, streamsPerSecondPerConnection: rate } = this.#limits;
    this.#log.warn(
      `xDS connection from ${connection.peer} opens streams faster than the limit (${burst} in a burst, then ${rate}/s): ` +
        `sent GOAWAY with ENHANCE_YOUR_CALM; its ${connection.openCalls} open stream(s) are served until they end`,
    );
  }
}

/** One gRPC call on one HTTP/2 stream. */
class Http2Call {
  #status: { code: GrpcStatusCode; message: string } | undefined;
  #deadline: NodeJS.Timeout | undefined;
  readonly #handler: LiveCall;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    service: XdsService,
    calls: XdsCalls,
    connection: Connection,
    private readonly reader: GrpcMessageReader,
  ) {
    connection.openCalls++;
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "identity" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => {
      const { code, message } = this.#status ?? { code: GrpcStatus.OK, message: "" };
      stream.sendTrailers({ "grpc-status": String(code), ...(message ? { "grpc-message": encodeGrpcMessage(message) } : {}) });
      // The client has not finished sending: ask it to stop, so nothing more is read or buffered for this call.
      if (!stream.readableEnded) stopReading(stream);
    });
    this.#handler = calls.open(service, {
      peer: connection.peer,
      identity: connection.identity,
      send: (response) => this.#send(response),
      end: () => this.#finish(GrpcStatus.OK, ""),
      fail: (code, message) => this.#finish(code, message),
    });

    const timeout = parseGrpcTimeout(headers["grpc-timeout"]);
    if (timeout !== undefined) {
      this.#deadline = setTimeout(() => this.#handler.fail(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded", "deadline exceeded"), timeout);
    }
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("end", () => {
      // The client half-closed: its requests are over (the call decides what that means), unless it stopped in the
      // middle of a message.
      const truncated = this.reader.end();
      if (truncated) this.#handler.fail(truncated.status, truncated.message, "request stream ended inside a message");
      else this.#handler.requestsEnded();
    });
    stream.on("aborted", () => this.#handler.ended("cancelled"));
    stream.on("error", (err) => this.#handler.ended(`error: ${err.message}`));
    stream.on("close", () => {
      connection.openCalls--;
      clearTimeout(this.#deadline);
      this.reader.release();
      this.#handler.ended("closed");
    });
  }

  #send(response: WireResponse): void {
    if (this.#status || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.cork();
    this.stream.write(grpcMessagePrefix(response));
    this.stream.write(response.body);
    this.stream.uncork();
  }

  #finish(code: GrpcStatusCode, message: string): void {
    if (this.#status) return;
    this.#status = { code, message };
    clearTimeout(this.#deadline);
    this.reader.release();
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
  }

  #onData(chunk: Buffer): void {
    if (this.#status) return;
    let messages: Buffer[];
    try {
      messages = this.reader.push(chunk);
    } catch (err) {
      if (!(err instanceof GrpcFramingError)) throw err;
      this.#handler.fail(err.status, err.message, `bad request stream: ${err.message}`);
      return;
    }
    for (const message of messages) {
      this.#handler.request(message);
      if (this.#status) return;
    }
  }
}

function trailersOnly(stream: http2.ServerHttp2Stream, code: GrpcStatusCode, message: string): void {
  stream.respond(
    { ":status": 200, "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": encodeGrpcMessage(message) },
    { endStream: true },
  );
}

/**
 * After the response is complete: RST_STREAM(NO_ERROR) if the client is still sending, so that nothing more of its
 * request is buffered (node would otherwise queue it in the stream's readable side for nobody).
 */
function stopReading(stream: http2.ServerHttp2Stream): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.readableEnded) return;
  // After the trailers have been handed to nghttp2: it sends frames of a stream in the order they were submitted.
  setImmediate(() => {
    if (!stream.destroyed && !stream.closed) stream.close(NGHTTP2_NO_ERROR);
  });
  stream.resume();
}

function ignore(): void {}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `grpc-timeout: 1H | 2M | 3S | 4m | 5u | 6n` → milliseconds. */
function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  const m = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as "H"];
  // Past 2^31 - 1 ms (about 24.8 days) setTimeout fires at once; such a deadline is as good as none.
  const timeout = Math.max(1, Math.ceil(n * ms));
  return timeout > 2 ** 31 - 1 ? undefined : timeout;
}
