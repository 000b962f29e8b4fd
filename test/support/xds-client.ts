// Raw xDS clients for protocol tests: send requests as the test says, and queue every response. One for the
// state-of-the-world protocol, one for the incremental one, over the same generic stream.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";

export type RequestInit = Partial<Omit<DiscoveryRequest, "$typeName">>;
export type DeltaRequestInit = MessageInitShape<typeof DeltaDiscoveryRequestSchema>;

export interface ClientOptions {
  /** Default: plaintext. */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

class RawStream<Req extends DescMessage, Res extends DescMessage> {
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<MessageShape<Req>, MessageShape<Res>>;
  readonly #queue: MessageShape<Res>[] = [];
  #waiter: (() => void) | undefined;
  /** Resolves with the stream's final status. */
  readonly status: Promise<grpc.StatusObject>;

  constructor(
    address: string,
    method: string,
    private readonly requestSchema: Req,
    responseSchema: Res,
    options: ClientOptions = {},
  ) {
    // A connection of its own, as each proxy has: grpc-js would otherwise put every client with the same target on
    // one shared connection, where the server's per-connection limits (transport-limits.ts) would apply to all.
    this.#client = new grpc.Client(address, options.credentials ?? grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
      ...options.channelOptions,
    });
    this.#call = this.#client.makeBidiStreamRequest(
      method,
      (r: MessageShape<Req>) => Buffer.from(toBinary(requestSchema, r)),
      (b: Buffer) => fromBinary(responseSchema, b),
    );
    this.#call.on("data", (r: MessageShape<Res>) => {
      this.#queue.push(r);
      this.#waiter?.();
    });
    this.status = new Promise((resolve) => this.#call.on("status", resolve));
    this.#call.on("error", () => {});
  }

  send(init: MessageInitShape<Req>): void {
    this.#call.write(create(this.requestSchema, init));
  }

  /** The next response, or an error after `timeoutMs`. */
  async next(timeoutMs = 2000): Promise<MessageShape<Res>> {
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
    const [first] = this.#queue;
    if (first) throw new Error(`unexpected response: ${JSON.stringify({ typeUrl: (first as { typeUrl?: string }).typeUrl })}`);
  }

  close(): void {
    this.#call.end();
    this.#client.close();
  }
}

export class RawXdsClient extends RawStream<typeof DiscoveryRequestSchema, typeof DiscoveryResponseSchema> {
  constructor(address: string, method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources", options: ClientOptions = {}) {
    super(address, method, DiscoveryRequestSchema, DiscoveryResponseSchema, options);
  }

  /** ACKs a response, keeping the given subscription. */
  ack(r: DiscoveryResponse, resourceNames: string[] = []): void {
    this.send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames });
  }
}

export class RawDeltaClient extends RawStream<typeof DeltaDiscoveryRequestSchema, typeof DeltaDiscoveryResponseSchema> {
  constructor(address: string, method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources", options: ClientOptions = {}) {
    super(address, method, DeltaDiscoveryRequestSchema, DeltaDiscoveryResponseSchema, options);
  }

  /** ACKs a response; `more` may change the subscription in the same request. */
  ack(r: DeltaDiscoveryResponse, more: DeltaRequestInit = {}): void {
    this.send({ typeUrl: r.typeUrl, responseNonce: r.nonce, ...more });
  }
}
