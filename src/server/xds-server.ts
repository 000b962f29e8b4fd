// The xDS server: the services of the table (services.ts: ADS and the per-type discovery services, SotW and
// incremental over gRPC, and REST-JSON polling) on one port, with a listen/close lifecycle. The port takes HTTP/2
// (gRPC, and REST over h2c or h2) and HTTP/1.1 (REST): in plaintext, plaintext-listener.ts tells them apart by the
// first bytes; over TLS (`tls`), tls-listener.ts by ALPN, and with a client CA only clients with a certificate
// that chains to it get past the handshake.
import { formatListenAddress, isLoopback, parseListenAddress, type ListenAddress } from "./transport/listen-address.js";
import { Http2Transport, type Http2TransportOptions } from "./transport/http2-transport.js";
import { Http1Transport } from "./transport/http1-transport.js";
import { PlaintextListener } from "./transport/plaintext-listener.js";
import { TlsListener } from "./transport/tls-listener.js";
import type { TlsCredentials } from "./transport/tls-credentials.js";
import { silentLogger, type Logger } from "../log.js";
import { XdsCalls, type XdsServiceOptions } from "./calls.js";
import type { StreamInfo } from "./observers/events.js";
import type { ServiceEntry } from "./service-table.js";
import type { ClientRecord, ClientStatusReader } from "./client-status.js";
import { xdsServices } from "./services.js";
import { authorizeByIdentities } from "./authorization.js";

export interface XdsServerOptions extends XdsServiceOptions, Http2TransportOptions {
  /** The services offered (default: every service of services.ts). */
  services?: readonly ServiceEntry[];
  /** Serve over TLS with these credentials (mutual TLS when they have a client CA); default plaintext. */
  tls?: TlsCredentials;
}

export class XdsServer implements ClientStatusReader {
  readonly #calls: XdsCalls;
  readonly #http2: Http2Transport;
  readonly #http1: Http1Transport;
  readonly #listener: PlaintextListener | TlsListener;
  readonly #log: Logger;
  readonly #tls: boolean;
  #port: number | undefined;

  constructor(options: XdsServerOptions) {
    const { services = xdsServices, tls, ...rest } = options;
    // Identities are only known when the handshake verified a client certificate: the groups' identities: are
    // enforced with a client CA (docs/security.md), unless the caller decides otherwise.
    this.#calls = new XdsCalls({ ...rest, authorize: rest.authorize ?? (tls?.mutual ? authorizeByIdentities : undefined) });
    this.#http2 = new Http2Transport(this.#calls, services, rest);
    this.#http1 = new Http1Transport(this.#http2.rest);
    this.#log = rest.log ?? silentLogger;
    this.#tls = tls !== undefined;
    this.#listener = tls ? new TlsListener(tls, this.#http2, this.#http1, this.#log) : new PlaintextListener(this.#http2, this.#http1);
  }

  /** Starts listening on `host:port` (`[::1]:port` for IPv6; port 0 picks a free one); resolves to the bound port. */
  async listen(address: string | ListenAddress): Promise<number> {
    const parsed = typeof address === "string" ? parseListenAddress("listen address", address) : address;
    this.#port = await this.#listener.listen(parsed);
    if (!this.#tls && !isLoopback(parsed.host)) {
      this.#log.warn(
        `xDS is served in plaintext on ${formatListenAddress({ ...parsed, port: this.#port })}: anyone who can reach this port can read the config ` +
          "of every node group (secrets included) by claiming a node id, and see it in transit. Serve it over mutual TLS " +
          "(--xds-tls-cert, --xds-tls-key, --xds-client-ca; docs/security.md), or listen on a loopback address",
      );
    }
    return this.#port;
  }

  get port(): number | undefined {
    return this.#port;
  }

  /** Bytes held for request messages being assembled, over all connections (bounded by `maxBufferedBytes`). */
  get bufferedRequestBytes(): number {
    return this.#http2.bufferedBytes;
  }

  /** Streams told of a new snapshot and waiting for their turn to push it (push-scheduler.ts). */
  get pendingPushes(): number {
    return this.#calls.pendingPushes;
  }

  /** The streams currently open, and the REST pollers remembered. */
  streams(): StreamInfo[] {
    return this.#calls.streams();
  }

  /** Every client with what it holds, per type and resource (client-status.ts): /nodes and CSDS read it. */
  clients(): Iterable<ClientRecord> {
    return this.#calls.clients();
  }

  /**
   * Ends every stream with UNAVAILABLE (clients reconnect, to another replica if there is one), then closes the
   * connections, forcibly after `graceMs`.
   */
  async close(graceMs = 2000): Promise<void> {
    const stopped = this.#listener.close();
    this.#http1.close();
    await this.#http2.close(graceMs);
    await stopped;
  }
}
