// REST-JSON polling over HTTP/1.1 (Envoy's REST config sources use HTTP/1.1 unless their cluster enables HTTP/2):
// node:http, fed connections by plaintext-listener.ts. Only the poll paths are served here; gRPC needs HTTP/2.
import http from "node:http";
import type { Socket } from "node:net";
import type { RestExchange } from "./rest-exchange.js";
import { peerIdentity } from "./peer-identity.js";

export class Http1Transport {
  readonly #server: http.Server;

  constructor(exchange: RestExchange) {
    this.#server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
      const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
      const identity = peerIdentity(req.socket);
      exchange.answer({ method: req.method ?? "", path: req.url ?? "", contentType: req.headers["content-type"], peer, identity, body: req }).then(
        (answer) => {
          const headers: http.OutgoingHttpHeaders = answer.body === undefined ? {} : { "content-type": answer.contentType ?? "application/json" };
          res.writeHead(answer.status, headers);
          res.end(answer.body);
        },
        () => res.destroy(),
      );
    });
  }

  /** Serves a connection the listener accepted. */
  accept(socket: Socket): void {
    this.#server.emit("connection", socket);
  }

  close(): void {
    this.#server.closeAllConnections();
  }
}
