// A raw xDS client for protocol tests: sends DiscoveryRequests as the test says, and queues every response.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";

export type RequestInit = Partial<Omit<DiscoveryRequest, "$typeName">>;

export class RawXdsClient {
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  readonly #queue: DiscoveryResponse[] = [];
  #waiter: (() => void) | undefined;
  /** Resolves with the stream's final status. */
  readonly status: Promise<grpc.StatusObject>;

  constructor(address: string, method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources") {
    // A connection of its own, as each proxy has: grpc-js would otherwise put every client with the same target on
    // one shared connection, where the server's per-connection limits (transport-limits.ts) would apply to all.
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    this.#call = this.#client.makeBidiStreamRequest(
      method,
      (r: DiscoveryRequest) => Buffer.from(toBinary(DiscoveryRequestSchema, r)),
      (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
    );
    this.#call.on("data", (r: DiscoveryResponse) => {
      this.#queue.push(r);
      this.#waiter?.();
    });
    this.status = new Promise((resolve) => this.#call.on("status", resolve));
    this.#call.on("error", () => {});
  }

  send(init: RequestInit): void {
    this.#call.write(create(DiscoveryRequestSchema, init));
  }

  /** ACKs a response, keeping the given subscription. */
  ack(r: DiscoveryResponse, resourceNames: string[] = []): void {
    this.send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames });
  }

  /** The next response, or an error after `timeoutMs`. */
  async next(timeoutMs = 2000): Promise<DiscoveryResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#queue.shift()!;
  }

  /** Asserts that no response arrives within `ms`. */
  async expectSilence(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.#queue.length > 0) throw new Error(`unexpected response: type ${this.#queue[0].typeUrl} version ${this.#queue[0].versionInfo}`);
  }

  close(): void {
    this.#call.end();
    this.#client.close();
  }
}
