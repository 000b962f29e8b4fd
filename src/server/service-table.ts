// The services a server offers, as data: one entry per gRPC method (ADS and each per-type service, for each
// protocol) and per REST-JSON polling path. Transports (node:http2, grpc-js, HTTP/1.1) iterate this table and only
// move bytes; a gRPC entry says how many messages each side of its method sends (unary, client-streaming,
// server-streaming or bidirectional), how to decode one request message and how to start the protocol's state
// machine for one call, which answers through a CallReply (messages, then OK or another status); a poll entry says
// which type a path serves (protocol/rest-poll.ts answers it). A new protocol or service is new entries here
// (protocol/*-service.ts), not a transport change.
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import type { StreamInfo, XdsServerEvents } from "./observers/events.js";
import type { SharedNameLists } from "./decoding/shared-name-lists.js";
import type { NodeLimits } from "./node-limits.js";
import type { WireResponse } from "./transport/wire-response.js";
import type { GrpcStatusCode } from "../grpc-status.js";
import type { ClientTypeState } from "./client-state.js";
import type { ClientStatusReader } from "./client-status.js";
import type { Protocol } from "./service-label.js";
import type { LoadSink } from "./load-reports.js";
import type { NodeAuthorizer } from "./authorization.js";

/** What every call of a server shares. */
export interface ServiceContext {
  readonly source: SnapshotSource;
  readonly events?: XdsServerEvents;
  /** Sent as `control_plane.identifier` in every response. */
  readonly controlPlaneId?: string;
  /** Runs a snapshot push (spread over event-loop turns by the server's PushScheduler); absent: at once. */
  readonly schedulePush?: (push: () => void) => void;
  /** The clock TTL heartbeats run on (protocol/typed-stream.ts); absent: real, unref'd timers. */
  readonly timers?: HeartbeatTimers;
  /** What a request's node may hold (node-limits.ts); absent: the defaults. */
  readonly nodeLimits?: NodeLimits;
  /** Wall clock in ms, for the times the client state records (default Date.now); tests pass a fake. */
  readonly now?: () => number;
  /** Every client and what it holds (client-status.ts): this server's, or every server's of a daemon. CSDS reads it. */
  readonly clients: ClientStatusReader;
  /** Where LRS streams hand the load their clients report (load-reports.ts); absent, LRS answers UNIMPLEMENTED. */
  readonly loads?: LoadSink;
  /** Who may be served what (authorization.ts); absent: every client is served its node's snapshot. */
  readonly authorize?: NodeAuthorizer;
}

/** Interval timers: the clock TTL heartbeats run on. */
export interface HeartbeatTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/**
 * How many messages each side of a gRPC method sends: protobuf-es's MethodKind, read from the method's descriptor
 * (`methodKind`). The xDS discovery methods are all bidirectional; CSDS's `FetchClientStatus` is unary, LRS's
 * `StreamLoadStats` bidirectional.
 */
export type CallKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/** How a call's state machine answers: response messages, then an end with OK or with another status. */
export interface CallReply {
  /** One response message (unary and client-streaming calls send exactly one before `end`). */
  send(response: WireResponse): void;
  /** Ends the call with OK. */
  end(): void;
  /** Ends the call with a status other than OK. */
  fail(code: GrpcStatusCode, message: string): void;
}

/** A protocol's state machine for one call, as the server drives it (sotw-stream.ts is one). */
export interface ProtocolStream<Request> {
  handleRequest(request: Request): void;
  /**
   * The client sent its last request message (it half-closed). Absent, the call ends with OK at once: an xDS
   * stream whose client has stopped asking is over.
   */
  requestsEnded?(): void;
  /** The call is over, whatever ended it (the reply's end or fail included); nothing more is sent. */
  close(reason: string): void;
  /** What the client holds, per type (client-state.ts), for status readers; absent for calls that serve none. */
  clientTypes?(): Iterable<ClientTypeState>;
}

/** A gRPC method: each call of it is driven by a ProtocolStream. */
export interface XdsService<Request = unknown> {
  readonly kind: "grpc";
  readonly callKind: CallKind;
  readonly protocol: Protocol;
  /** `/package.Service/Method` */
  readonly path: string;
  /** For logs and status: `ads`, or the short name of the type a per-type service serves; `delta-` for delta. */
  readonly label: string;
  /**
   * A decoder for one call's request messages (it may keep what the call's previous request decoded, and share
   * name lists between calls through `names`). Throws on bytes that are not a request of this method.
   */
  decoder(names: SharedNameLists): (message: Uint8Array) => Request;
  /** Starts the state machine of one call, which answers through `reply`. */
  start(context: ServiceContext, info: StreamInfo, reply: CallReply): ProtocolStream<Request>;
}

/** A REST-JSON polling path (`POST /v3/discovery:clusters`): one DiscoveryRequest in, one answer out. */
export interface PollService {
  readonly kind: "poll";
  readonly protocol: "rest";
  /** The HTTP path, from the type's Fetch method (resource/discovery-service.ts). */
  readonly path: string;
  /** For logs and status: `rest-` and the type's short name. */
  readonly label: string;
  readonly typeUrl: string;
}

/** Any entry of the table. */
export type ServiceEntry = XdsService | PollService;
