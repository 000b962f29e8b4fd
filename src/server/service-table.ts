// The services a server offers, as data: one entry per gRPC method (ADS and each per-type service, for each
// protocol) and per REST-JSON polling path. Transports (node:http2, grpc-js, HTTP/1.1) iterate this table and only
// move bytes; a stream entry says how to decode one request message of its method and how to start the protocol's
// state machine for one call; a poll entry says which type a path serves (protocol/rest-poll.ts answers it).
// A new protocol or service is new entries here (protocol/*-service.ts), not a transport change.
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import type { StreamInfo, XdsServerEvents } from "./observers/events.js";
import type { SharedNameLists } from "./decoding/shared-name-lists.js";
import type { NodeLimits } from "./node-limits.js";
import type { WireResponse } from "./transport/wire-response.js";

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
}

/** Interval timers: the clock TTL heartbeats run on. */
export interface HeartbeatTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** A protocol's state machine for one call, as the server drives it (sotw-stream.ts is one). */
export interface ProtocolStream<Request> {
  handleRequest(request: Request): void;
  close(reason: string): void;
}

/** A gRPC streaming method (SotW or incremental discovery): a call is a stream driven by a ProtocolStream. */
export interface XdsService<Request = unknown> {
  readonly kind: "stream";
  /** `/package.Service/Method` */
  readonly path: string;
  /** For logs and status: `ads`, or the short name of the type a per-type service serves; `delta-` for delta. */
  readonly label: string;
  /**
   * A decoder for one call's request messages (it may keep what the call's previous request decoded, and share
   * name lists between calls through `names`). Throws on bytes that are not a request of this method.
   */
  decoder(names: SharedNameLists): (message: Uint8Array) => Request;
  /** Starts the state machine of one call; `send` writes one response (at most one per type is in flight). */
  start(context: ServiceContext, info: StreamInfo, send: (response: WireResponse) => void): ProtocolStream<Request>;
}

/** A REST-JSON polling path (`POST /v3/discovery:clusters`): one DiscoveryRequest in, one answer out. */
export interface PollService {
  readonly kind: "poll";
  /** The HTTP path, from the type's Fetch method (resource/discovery-service.ts). */
  readonly path: string;
  /** For logs and status: `rest-` and the type's short name. */
  readonly label: string;
  readonly typeUrl: string;
}

/** Any entry of the table. */
export type ServiceEntry = XdsService | PollService;
