// The xDS server: the services of the table (services.ts: ADS and the per-type discovery services) on node:http2,
// with a listen/close lifecycle.
import { parseListenAddress, type ListenAddress } from "./transport/listen-address.js";
import { Http2Transport, type Http2TransportOptions } from "./transport/http2-transport.js";
import { XdsCalls, type XdsServiceOptions } from "./calls.js";
import type { StreamInfo } from "./observers/events.js";
import type { XdsService } from "./service-table.js";
import { xdsServices } from "./services.js";

export interface XdsServerOptions extends XdsServiceOptions, Http2TransportOptions {
  /** The services offered (default: every service of services.ts). */
  services?: readonly XdsService[];
}

export class XdsServer {
  readonly #calls: XdsCalls;
  readonly #transport: Http2Transport;
  #port: number | undefined;

  constructor(options: XdsServerOptions) {
    const { services = xdsServices, ...rest } = options;
    this.#calls = new XdsCalls(rest);
    this.#transport = new Http2Transport(this.#calls, services, rest);
  }

  /** Starts listening on `host:port` (`[::1]:port` for IPv6; port 0 picks a free one); resolves to the bound port. */
  async listen(address: string | ListenAddress): Promise<number> {
    const { host, port } = typeof address === "string" ? parseListenAddress("listen address", address) : address;
    this.#port = await this.#transport.listen(host, port);
    return this.#port;
  }

  get port(): number | undefined {
    return this.#port;
  }

  /** Bytes held for request messages being assembled, over all connections (bounded by `maxBufferedBytes`). */
  get bufferedRequestBytes(): number {
    return this.#transport.bufferedBytes;
  }

  /** The streams currently open. */
  streams(): StreamInfo[] {
    return this.#calls.streams();
  }

  /**
   * Ends every stream with UNAVAILABLE (clients reconnect, to another replica if there is one), then closes the
   * connections, forcibly after `graceMs`.
   */
  close(graceMs = 2000): Promise<void> {
    return this.#transport.close(graceMs);
  }
}
