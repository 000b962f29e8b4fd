// The calls open on a server, whatever their protocol: each binds one transport call to one protocol state machine
// (service-table.ts). What is the same for every protocol lives here: stream ids and StreamInfo, decoding a
// request message with the service's decoder, holding a call to its method's kind (one request message for unary
// and server-streaming methods, one response for unary and client-streaming ones), turning a protocol error into
// INVALID_ARGUMENT and anything else into INTERNAL, ending a call exactly once, and the set of live calls for status
// and shutdown. A transport only moves bytes.
import { NodeLimitError, StreamProtocolError } from "../errors.js";
import type { StreamInfo } from "./observers/events.js";
import { GrpcStatus, type GrpcStatusCode } from "../grpc-status.js";
import { PushScheduler } from "./push-scheduler.js";
import type { CallReply, ProtocolStream, ServiceContext, XdsService } from "./service-table.js";
import type { ClientRecord, ClientStatusReader } from "./client-status.js";
import type { LoadSink } from "./load-reports.js";
import type { ClientTypeState } from "./client-state.js";
import { SharedNameLists } from "./decoding/shared-name-lists.js";
import type { WireResponse } from "./transport/wire-response.js";
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import type { XdsServerEvents } from "./observers/events.js";
import { RestPolls, type RestPollOptions } from "./protocol/rest-poll.js";
import { defaultTransportLimits, type TransportLimits } from "./transport/transport-limits.js";
import type { NodeAuthorizer } from "./authorization.js";

export interface XdsServiceOptions extends Partial<Pick<TransportLimits, "maxNodeIdBytes" | "maxNodeMetadataBytes" | "maxRestPollerBytes">> {
  cache: SnapshotSource;
  events?: XdsServerEvents;
  /** Sent as `control_plane.identifier` in every response. */
  controlPlaneId?: string;
  /** Streams that push a new snapshot per event-loop turn (default 256); 0 pushes all at once. */
  pushBatchSize?: number;
  /** How long REST pollers are remembered without a poll, and how many at most (protocol/rest-poll.ts). */
  restPollers?: RestPollOptions;
  /** Whose clients CSDS reports (default: this server's); a daemon with several servers passes all of them. */
  clients?: ClientStatusReader;
  /** Where LRS streams hand the load their clients report (load-reports.ts); absent, LRS answers UNIMPLEMENTED. */
  loads?: LoadSink;
  /** Who may be served what (authorization.ts); absent: every client is served its node's snapshot. */
  authorize?: NodeAuthorizer;
}

/** Stream and poller ids, unique in the process: a daemon may run several servers (--rest-listen) on one status. */
let nextId = 1;
const newId = () => nextId++;

/** How often forgotten REST pollers are looked for. */
const pollerSweepMs = 10_000;

/** One call as a transport sees it: where it comes from, and how to answer it (messages, then a status). */
export interface TransportCall extends CallReply {
  readonly peer: string;
  /** Who the client's verified certificate says it is (peer-identity.ts); absent over plaintext. */
  readonly identity?: string;
}

export class XdsCalls implements ClientStatusReader {
  readonly #live = new Set<LiveCall>();
  readonly context: ServiceContext;
  /** Name lists decoded from requests, shared by every call of the server (shared-name-lists.ts). */
  readonly nameLists = new SharedNameLists();
  /** REST-JSON polls: not calls (each is one request), but clients whose state is remembered the same way. */
  readonly polls: RestPolls;
  readonly #scheduler: PushScheduler | undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: XdsServiceOptions) {
    const scheduler = options.pushBatchSize === 0 ? undefined : new PushScheduler(options.pushBatchSize);
    this.#scheduler = scheduler;
    const { maxNodeIdBytes = defaultTransportLimits.maxNodeIdBytes, maxNodeMetadataBytes = defaultTransportLimits.maxNodeMetadataBytes } = options;
    this.context = {
      source: options.cache,
      events: options.events,
      controlPlaneId: options.controlPlaneId,
      schedulePush: scheduler && ((push) => scheduler.schedule(push)),
      nodeLimits: { maxNodeIdBytes, maxNodeMetadataBytes },
      clients: options.clients ?? this,
      loads: options.loads,
      authorize: options.authorize,
    };
    this.polls = new RestPolls(this.context, newId, { maxBytes: options.maxRestPollerBytes, ...options.restPollers });
    this.#sweeper = setInterval(() => this.polls.sweep(), pollerSweepMs);
    this.#sweeper.unref();
  }

  /** Binds a new call; the transport then feeds it its request messages and its end. */
  open(service: XdsService, call: TransportCall): LiveCall {
    const live = new LiveCall(this, newId(), service, call);
    this.#live.add(live);
    return live;
  }

  /** Streams told of a new snapshot that have not pushed it yet (0 without a scheduler: pushes run at once). */
  get pendingPushes(): number {
    return this.#scheduler?.pending ?? 0;
  }

  /** The streams open, and the REST pollers remembered. */
  streams(): StreamInfo[] {
    return [...[...this.#live].map((c) => c.info), ...this.polls.pollers()];
  }

  /** Every client, with what it holds (client-status.ts): the open calls, then the REST pollers. */
  *clients(): Iterable<ClientRecord> {
    for (const live of this.#live) yield live;
    yield* this.polls.clients();
  }

  /** Ends every call with `code`: clients reconnect (to another replica, if there is one). */
  closeAll(code: GrpcStatusCode, message: string, reason: string): void {
    for (const live of [...this.#live]) live.fail(code, message, reason);
    clearInterval(this.#sweeper);
    this.polls.clear(reason);
  }

  /** @internal */
  forget(live: LiveCall): void {
    this.#live.delete(live);
  }
}

export class LiveCall implements ClientRecord {
  readonly info: StreamInfo;
  readonly #decode: (message: Uint8Array) => unknown;
  readonly #stream: ProtocolStream<unknown>;
  /** The method takes one request message (unary, server-streaming) / answers with one (unary, client-streaming). */
  readonly #oneRequest: boolean;
  readonly #oneResponse: boolean;
  #requests = 0;
  #responses = 0;
  #ended = false;

  constructor(
    private readonly calls: XdsCalls,
    id: number,
    service: XdsService,
    readonly call: TransportCall,
  ) {
    this.info = {
      id,
      protocol: service.protocol,
      service: service.label,
      peer: call.peer,
      openedAt: calls.context.now?.() ?? Date.now(),
      ...(call.identity === undefined ? {} : { identity: call.identity }),
    };
    this.#decode = service.decoder(calls.nameLists);
    this.#oneRequest = service.callKind === "unary" || service.callKind === "server_streaming";
    this.#oneResponse = service.callKind === "unary" || service.callKind === "client_streaming";
    this.#stream = service.start(calls.context, this.info, {
      send: (response) => this.#send(response),
      end: () => this.#end(),
      fail: (code, message) => this.fail(code, message, `failed: ${message}`),
    });
    calls.context.events?.streamOpened?.(this.info);
  }

  /** One request message of the call. */
  request(message: Uint8Array): void {
    if (this.#ended) return;
    if (this.#oneRequest && ++this.#requests > 1) {
      // gRPC's rule for unary and server-streaming methods: the client sends exactly one message.
      this.fail(GrpcStatus.INVALID_ARGUMENT, "this method takes one request message; the client sent more", "more than one request message");
      return;
    }
    let request: unknown;
    try {
      request = this.#decode(message);
    } catch (err) {
      this.fail(GrpcStatus.INVALID_ARGUMENT, `cannot decode the request: ${(err as Error).message}`, "undecodable request");
      return;
    }
    try {
      this.#stream.handleRequest(request);
    } catch (err) {
      const protocol = err instanceof StreamProtocolError || err instanceof NodeLimitError;
      const text = (err as Error).message;
      this.fail(protocol ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.INTERNAL, text, protocol ? `protocol error: ${text}` : `internal error: ${text}`);
    }
  }

  types(): Iterable<ClientTypeState> {
    return this.#stream.clientTypes?.() ?? [];
  }

  /** The client half-closed: it sends no more request messages. */
  requestsEnded(): void {
    if (this.#ended) return;
    if (this.#oneRequest && this.#requests === 0) {
      this.fail(GrpcStatus.INVALID_ARGUMENT, "this method takes one request message; the client sent none", "no request message");
      return;
    }
    if (this.#stream.requestsEnded) {
      try {
        this.#stream.requestsEnded();
      } catch (err) {
        const text = (err as Error).message;
        this.fail(GrpcStatus.INTERNAL, text, `internal error: ${text}`);
      }
      return;
    }
    this.ended("client closed the stream");
    this.call.end();
  }

  /** Ends the call with `code` (not OK) and tells the protocol why. */
  fail(code: GrpcStatusCode, message: string, reason: string): void {
    if (this.#ended) return;
    this.ended(reason);
    this.call.fail(code, message);
  }

  /** The call is over (client closed, cancelled, transport error, shutdown). Idempotent. */
  ended(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.calls.forget(this);
    this.#stream.close(reason);
  }

  #send(response: WireResponse): void {
    if (this.#ended) return;
    if (this.#oneResponse && ++this.#responses > 1) throw new Error(`${this.info.service} answered a call of a single-response method twice`);
    this.call.send(response);
  }

  #end(): void {
    if (this.#ended) return;
    if (this.#oneResponse && this.#responses !== 1) {
      this.fail(GrpcStatus.INTERNAL, `${this.info.service} ended a single-response call without its response`, "no response");
      return;
    }
    this.ended("completed");
    this.call.end();
  }
}
