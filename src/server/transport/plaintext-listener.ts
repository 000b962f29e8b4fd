// One plaintext port for gRPC (HTTP/2 prior knowledge, "h2c") and REST-JSON over HTTP/1.1: each connection is
// handed to the HTTP/2 or the HTTP/1.1 server by its first bytes. An HTTP/2 client starts with the connection
// preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4); an HTTP/1.1 request never does. The bytes read
// to decide are put back (node:http2 takes what is buffered on the socket when it starts a session).
import net from "node:net";
import { listenOn, type ListenAddress } from "./listen-address.js";

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** A client that has not said which protocol it speaks by then is dropped. */
const sniffTimeoutMs = 10_000;

export interface ConnectionSink {
  accept(socket: net.Socket): void;
}

export class PlaintextListener {
  readonly #server: net.Server;
  readonly #pending = new Set<net.Socket>();

  constructor(http2: ConnectionSink, http1: ConnectionSink | undefined) {
    this.#server = net.createServer((socket) => this.#sniff(socket, http2, http1));
  }

  listen(address: ListenAddress): Promise<number> {
    return listenOn(this.#server, address);
  }

  /** Stops accepting connections; connections still being sniffed are dropped. */
  close(): Promise<void> {
    for (const socket of this.#pending) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #sniff(socket: net.Socket, http2: ConnectionSink, http1: ConnectionSink | undefined): void {
    this.#pending.add(socket);
    let seen = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), sniffTimeoutMs);
    const settle = () => {
      clearTimeout(timer);
      this.#pending.delete(socket);
    };
    // Read in paused mode ('readable', not 'data'): a socket switched to flowing mode and back loses what it put
    // back for node:http's parser.
    const onReadable = () => {
      for (let chunk: Buffer | null; (chunk = socket.read()) !== null; ) seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, preface.length);
      const mayBeHttp2 = seen.subarray(0, n).equals(preface.subarray(0, n));
      if (mayBeHttp2 && seen.length < preface.length) return; // not decided yet
      const sink = mayBeHttp2 ? http2 : http1;
      settle();
      socket.off("readable", onReadable);
      socket.off("error", settle);
      socket.unshift(seen);
      if (sink) sink.accept(socket);
      else socket.end("HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    };
    socket.on("readable", onReadable);
    socket.on("error", settle);
    socket.on("close", settle);
  }
}
