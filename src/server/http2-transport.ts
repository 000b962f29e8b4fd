// The xDS streams over node:http2 directly: just the part of gRPC that the discovery services use (bidirectional
// streams of uncompressed protobuf messages, status in trailers, deadlines).
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
import http2 from "node:http2";
import { RequestDecoder } from "./request-decoder.js";
import { SharedNameLists } from "./shared-name-lists.js";
import { grpcMessagePrefix, type SotwResponse } from "./response.js";
import { GrpcStatus, type GrpcStatusCode } from "./grpc-status.js";
import { sotwMethods, type SotwCalls, type SotwMethod } from "./sotw-calls.js";
import { listenOn } from "./listen-address.js";

export interface Http2TransportOptions {
  /** Largest request message accepted (gRPC's default receive limit is 4 MiB). */
  maxRequestBytes?: number;
}

const methodsByPath = new Map(sotwMethods.map((m) => [m.path, m]));

export class Http2Transport {
  readonly #server: http2.Http2Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #maxRequestBytes: number;
  readonly #nameLists = new SharedNameLists();

  constructor(
    private readonly calls: SotwCalls,
    options: Http2TransportOptions = {},
  ) {
    this.#maxRequestBytes = options.maxRequestBytes ?? 4 * 1024 * 1024;
    // A big fan-out queues a lot of outgoing data per session; node's default cap (10 MB) would refuse new
    // streams on a connection that is merely slow to read a large CDS response.
    this.#server = http2.createServer({ maxSessionMemory: 256 });
    this.#server.on("session", (session) => {
      this.#sessions.add(session);
      session.on("close", () => this.#sessions.delete(session));
      session.on("error", () => {}); // a broken connection ends its streams, which is all that matters here
    });
    this.#server.on("stream", (stream, headers) => this.#onStream(stream, headers));
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.#server, { host, port });
  }

  /** Ends every call with UNAVAILABLE, then closes the connections, forcibly after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.calls.closeAll(GrpcStatus.UNAVAILABLE, "xdsd is shutting down", "server shutting down");
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.#sessions) session.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const method = methodsByPath.get(headers[":path"] ?? "");
    const contentType = headers["content-type"] ?? "";
    if (headers[":method"] !== "POST" || !contentType.startsWith("application/grpc")) {
      stream.respond({ ":status": 415 }, { endStream: true });
      return;
    }
    if (!method) {
      trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${headers[":path"]}`);
      return;
    }
    new Http2Call(stream, headers, method, this.calls, this.#maxRequestBytes, new RequestDecoder(this.#nameLists));
  }
}

/** One gRPC call on one HTTP/2 stream. */
class Http2Call {
  #status: { code: GrpcStatusCode; message: string } | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #deadline: NodeJS.Timeout | undefined;
  readonly #handler;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    method: SotwMethod,
    calls: SotwCalls,
    private readonly maxRequestBytes: number,
    private readonly decoder: RequestDecoder,
  ) {
    const session = stream.session;
    const peer = session?.socket ? `${session.socket.remoteAddress}:${session.socket.remotePort}` : "unknown";
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "identity" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => {
      const { code, message } = this.#status ?? { code: GrpcStatus.OK, message: "" };
      stream.sendTrailers({ "grpc-status": String(code), ...(message ? { "grpc-message": encodeURIComponent(message) } : {}) });
    });
    this.#handler = calls.open(method, {
      peer,
      send: (response) => this.#send(response),
      fail: (code, message) => this.#finish(code, message),
    });

    const timeout = parseGrpcTimeout(headers["grpc-timeout"]);
    if (timeout !== undefined) {
      this.#deadline = setTimeout(() => {
        this.#handler.ended("deadline exceeded");
        this.#finish(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded");
      }, timeout);
    }
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("end", () => {
      // The client half-closed: the xDS stream is over; answer OK.
      this.#handler.ended("client closed the stream");
      this.#finish(GrpcStatus.OK, "");
    });
    stream.on("aborted", () => this.#handler.ended("cancelled"));
    stream.on("error", (err) => this.#handler.ended(`error: ${err.message}`));
    stream.on("close", () => {
      clearTimeout(this.#deadline);
      this.#handler.ended("closed");
    });
  }

  #send(response: SotwResponse): void {
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
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
  }

  /** Splits the incoming bytes into length-prefixed messages. */
  #onData(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (this.#pendingBytes >= 5) {
      const head = this.#peek(5);
      const length = head.readUInt32BE(1);
      if (length > this.maxRequestBytes) {
        this.#handler.ended("request too large");
        return this.#finish(GrpcStatus.RESOURCE_EXHAUSTED, `request of ${length} bytes exceeds the limit of ${this.maxRequestBytes}`);
      }
      if (this.#pendingBytes < 5 + length) return;
      const frame = this.#take(5 + length);
      if (frame[0] !== 0) {
        this.#handler.ended("compressed request");
        return this.#finish(GrpcStatus.UNIMPLEMENTED, "compressed messages are not supported (grpc-accept-encoding: identity)");
      }
      let request;
      try {
        request = this.decoder.decode(frame.subarray(5));
      } catch (err) {
        this.#handler.ended("undecodable request");
        return this.#finish(GrpcStatus.INVALID_ARGUMENT, `cannot decode DiscoveryRequest: ${(err as Error).message}`);
      }
      this.#handler.request(request);
      if (this.#status) return;
    }
  }

  #peek(n: number): Buffer {
    if (this.#pending[0].length < n) this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0].subarray(0, n);
  }

  #take(n: number): Buffer {
    const all = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return out;
  }
}

function trailersOnly(stream: http2.ServerHttp2Stream, code: GrpcStatusCode, message: string): void {
  stream.respond(
    { ":status": 200, "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": encodeURIComponent(message) },
    { endStream: true },
  );
}

/** `grpc-timeout: 1H | 2M | 3S | 4m | 5u | 6n` → milliseconds. */
function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  const m = typeof value === "string" ? /^(\d{1,8})([HMSmun])$/.exec(value) : null;
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as "H"];
  return Math.max(1, Math.ceil(n * ms));
}
