// The xDS server: a grpc-js server with the discovery services, a listen/close lifecycle, and the live streams.
import * as grpc from "@grpc/grpc-js";
import { addXdsServices, type LiveStream, type XdsServiceOptions } from "./grpc-transport.js";
import type { StreamInfo } from "./events.js";

export interface XdsServerOptions extends XdsServiceOptions {
  /** grpc-js server options (keepalive, max connection age…). */
  grpcOptions?: grpc.ServerOptions;
}

export class XdsServer {
  readonly #server: grpc.Server;
  readonly #live: Set<LiveStream>;
  #port: number | undefined;

  constructor(options: XdsServerOptions) {
    this.#server = new grpc.Server({
      // Proxies hold their streams open for days; let them keep the connection alive without traffic.
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.http2.min_ping_interval_without_data_ms": 10_000,
      ...options.grpcOptions,
    });
    this.#live = addXdsServices(this.#server, options);
  }

  /** Starts listening on `host:port` (port 0 picks a free one) and resolves to the bound port. */
  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) return reject(err);
        this.#port = port;
        resolve(port);
      });
    });
  }

  get port(): number | undefined {
    return this.#port;
  }

  /** The streams currently open. */
  streams(): StreamInfo[] {
    return [...this.#live].map((l) => l.stream.info);
  }

  /**
   * Ends every stream with UNAVAILABLE (clients reconnect, to another replica if there is one), then stops.
   * Waits up to `graceMs` for in-flight writes before forcing the connections closed.
   */
  async close(graceMs = 2000): Promise<void> {
    for (const { stream, call } of [...this.#live]) {
      stream.close("server shutting down");
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "xdsd is shutting down" });
    }
    this.#live.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
