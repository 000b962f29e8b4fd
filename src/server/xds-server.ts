// The xDS server: the services of the table (services.ts: ADS and the per-type discovery services, SotW and
// incremental over gRPC, and REST-JSON polling) on one plaintext port, with a listen/close lifecycle. The port
// takes HTTP/2 (gRPC, and REST over h2c) and HTTP/1.1 (REST): plaintext-listener.ts tells them apart.
import { parseListenAddress, type ListenAddress } from "./transport/listen-address.js";
import { Http2Transport, type Http2TransportOptions } from "./transport/http2-transport.js";
import { Http1Transport } from "./transport/http1-transport.js";
import { PlaintextListener } from "./transport/plaintext-listener.js";
import { XdsCalls, type XdsServiceOptions } from "./calls.js";
import type { StreamInfo } from "./observers/events.js";
import type { ServiceEntry } from "./service-table.js";
import { xdsServices } from "./services.js";

export interface XdsServerOptions extends XdsServiceOptions, Http2TransportOptions {
  /** The services offered (default: every service of services.ts). */
  services?: readonly ServiceEntry[];
}

export class XdsServer {
  readonly #calls: XdsCalls;
  readonly #http2: Http2Transport;
  readonly #http1: Http1Transport;
  readonly #listener: PlaintextListener;
  #port: number | undefined;

  constructor(options: XdsServerOptions) {
    const { services = xdsServices, ...rest } = options;
    this.#calls = new XdsCalls(rest);
    this.#http2 = new Http2Transport(this.#calls, services, rest);
    this.#http1 = new Http1Transport(this.#http2.rest);
    this.#listener = new PlaintextListener(this.#http2, this.#http1);
  }

  /** Starts listening on `host:port` (`[::1]:port` for IPv6; port 0 picks a free one); resolves to the bound port. */
  async listen(address: string | ListenAddress): Promise<number> {
    const parsed = typeof address === "string" ? parseListenAddress("listen address", address) : address;
    this.#port = await this.#listener.listen(parsed);
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
