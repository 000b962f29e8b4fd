// The xDS port over TLS: gRPC (HTTP/2) and REST-JSON polling (HTTP/1.1 or HTTP/2) on one port, told apart by ALPN
// (RFC 7301) — "h2" goes to the HTTP/2 transport, anything else to HTTP/1.1 — and with a client CA, mutual TLS: a
// client must present a certificate that chains to it, or the handshake fails before any byte of xDS is read.
// Rotated credentials (tls-credentials.ts) apply to new connections; the open ones keep theirs.
import tls from "node:tls";
import type { ConnectionSink } from "./plaintext-listener.js";
import { listenOn, type ListenAddress } from "./listen-address.js";
import type { TlsCredentials } from "./tls-credentials.js";
import { silentLogger, type Logger } from "../../log.js";

/** A client that has not finished its handshake by then is dropped. */
const handshakeTimeoutMs = 10_000;

export class TlsListener {
  readonly #server: tls.Server;
  readonly #unsubscribe: () => void;

  constructor(credentials: TlsCredentials, http2: ConnectionSink, http1: ConnectionSink | undefined, log: Logger = silentLogger) {
    this.#server = tls.createServer(
      {
        ...credentials.options,
        ALPNProtocols: http1 ? ["h2", "http/1.1"] : ["h2"],
        requestCert: credentials.mutual,
        rejectUnauthorized: credentials.mutual,
        handshakeTimeout: handshakeTimeoutMs,
      },
      (socket) => {
        if (socket.alpnProtocol === "h2") http2.accept(socket);
        else if (http1) http1.accept(socket);
        else socket.destroy();
      },
    );
    // A failed handshake (no client certificate, one from another CA, an expired one, plaintext on the TLS port) is
    // the client's problem, not the server's: say why at debug, where an operator chasing a refused proxy looks.
    this.#server.on("tlsClientError", (err, socket) => {
      log.debug?.(`xDS TLS handshake from ${socket.remoteAddress}:${socket.remotePort} failed: ${err.message}`);
    });
    this.#unsubscribe = credentials.onChange((options) => this.#server.setSecureContext(options));
  }

  listen(address: ListenAddress): Promise<number> {
    return listenOn(this.#server, address);
  }

  /** Stops accepting connections. */
  close(): Promise<void> {
    this.#unsubscribe();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
