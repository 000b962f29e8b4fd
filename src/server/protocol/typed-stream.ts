// What every xDS stream state machine does the same way, whatever its protocol: one sub-stream per resource type
// (client-state.ts), the node and its cache watch (node-watch.ts), unique nonces, telling an ACK from a NACK by
// the latest nonce and `error_detail`, pushing a new snapshot in the registry's ADS order, and releasing removals
// held for "make before break" once the types that use them have settled. A protocol (sotw-stream.ts,
// delta-stream.ts) says how a request changes the subscription and what a response carries.
import type { SnapshotSource } from "../../cache/snapshot-cache.js";
import type { DeltaDiscoveryRequest, DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { byPushOrder, findResourceType, type ResourceType } from "../../resource/types.js";
import type { Snapshot } from "../../cache/snapshot.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import { expiringResources, type ClientTypeState } from "../client-state.js";
import { heartbeatInterval } from "./ttl-resources.js";
import { NodeWatch } from "../node-watch.js";
import type { NodeLimits } from "../node-limits.js";
import type { StreamInfo, XdsServerEvents } from "../observers/events.js";
import type { SubscribedNames } from "../subscription.js";
import type { HeartbeatTimers, ServiceContext } from "../service-table.js";
import type { NodeAuthorizer } from "../authorization.js";
import { GrpcStatus, type GrpcStatusCode } from "../../grpc-status.js";

export interface TypedStreamOptions<Response> {
  source: SnapshotSource;
  info: StreamInfo;
  send(response: Response): void;
  events?: XdsServerEvents;
  /** Set for a per-type service: requests may leave `type_url` empty, and other types are not served. */
  fixedTypeUrl?: string;
  controlPlaneId?: string;
  /** Runs a snapshot push; default at once. The server passes a PushScheduler's, to spread big fan-outs. */
  schedulePush?: (push: () => void) => void;
  /** The clock heartbeats run on (default: timers that do not keep the process alive); tests pass a fake. */
  timers?: HeartbeatTimers;
  /** What a request's node may hold (default: the defaults of transport-limits.ts). */
  nodeLimits?: NodeLimits;
  /** Wall clock in ms, for the times the client state records (default Date.now); tests pass a fake. */
  now?: () => number;
  /** Who may be served what (authorization.ts); absent: every client. */
  authorize?: NodeAuthorizer;
  /** Ends the call with a status (a denial: PERMISSION_DENIED); absent, a denied stream only closes. */
  fail?: (code: GrpcStatusCode, message: string) => void;
}

const defaultTimers: HeartbeatTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** A stream's options from what the server's calls share (service-table.ts ServiceContext). */
export function streamOptionsOf<Response>(
  context: ServiceContext,
  info: StreamInfo,
  send: (response: Response) => void,
  fixedTypeUrl: string | undefined,
  fail?: (code: GrpcStatusCode, message: string) => void,
): TypedStreamOptions<Response> {
  const { source, events, controlPlaneId, schedulePush, timers, nodeLimits, now, authorize } = context;
  return { source, info, send, events, fixedTypeUrl, controlPlaneId, schedulePush, timers, nodeLimits, now, authorize, fail };
}

export abstract class TypedStream<State extends ClientTypeState<SubscribedNames>, Request extends DiscoveryRequest | DeltaDiscoveryRequest, Response> {
  protected readonly o: TypedStreamOptions<Response>;
  protected readonly types = new Map<string, State>();
  readonly #node: NodeWatch;
  #nonceCounter = 0;
  protected closed = false;
  /** The heartbeat timer while the client holds resources with a TTL, and its period. */
  #heartbeat: { handle: unknown; every: number } | undefined;
  /** The snapshot this client was last found allowed (authorization.ts): judged again when its node is served another. */
  #authorizedFor: Snapshot | undefined;

  constructor(options: TypedStreamOptions<Response>) {
    this.o = options;
    this.#node = new NodeWatch(options.source, options.info, () => this.pushAll(), options.schedulePush, options.events, options.nodeLimits);
  }

  get info(): StreamInfo {
    return this.o.info;
  }

  /** What the client holds of each type it asked for (client-status.ts reads it). */
  clientTypes(): Iterable<ClientTypeState> {
    return this.types.values();
  }

  /** A new sub-stream's state for a type. */
  protected abstract newState(type: ResourceType): State;

  /** Sends what the latest snapshot holds for the client that it does not have, if anything and if allowed. */
  protected abstract respond(state: State, delayRemovals?: boolean): void;

  /**
   * Refreshes, at the client, the TTL of `due`: resources with a TTL that it holds (heartbeatDue; ttl-resources.ts
   * says how each protocol does it). Nothing is in flight for the type when this is called.
   */
  protected abstract heartbeat(state: State, snapshot: Snapshot, due: readonly EncodedResource[]): void;

  /**
   * The resources with a TTL that the client holds, as the snapshot has them: after a NACK, what it kept, not what
   * it was sent and rejected (a heartbeat of that would be refused again, or, in SotW, send the rejected content).
   */
  protected heartbeatDue(state: State, snapshot: Snapshot): EncodedResource[] {
    const held = state.acked;
    return expiringResources(snapshot, state.type.typeUrl).filter((r) => held.get(r.name) === r.version);
  }

  /**
   * The common start of a request: its node, the request event, and the state of its type (created on its first
   * request); undefined when the request is not for a type served here (reported as ignored).
   */
  protected begin(req: Request): { state: State; first: boolean } | undefined {
    if (this.closed) return undefined;
    const info = this.o.info;
    this.#node.identify(req.node);
    if (!this.mayServe()) return undefined;
    const events = this.o.events;
    events?.request?.(info, req);
    const typeUrl = req.typeUrl || this.o.fixedTypeUrl || "";
    const type = findResourceType(typeUrl);
    if (!type || (this.o.fixedTypeUrl && type.typeUrl !== this.o.fixedTypeUrl)) {
      events?.ignored?.(info, req, type ? `type ${typeUrl} is not served on this service` : `unknown type "${typeUrl}"`);
      return undefined;
    }
    let state = this.types.get(type.typeUrl);
    const first = !state;
    if (!state) this.types.set(type.typeUrl, (state = this.newState(type)));
    return { state, first };
  }

  /**
   * The request as a reply to the latest response of its type: an ACK (no `error_detail`) or a NACK, recorded; or
   * "stale" when it answers an older response (the client will answer the newer one); or "none" when it carries
   * no nonce or nothing was awaiting a reply. `acked`: the version an ACK accepts; `kept`: the version a NACK says
   * the client still holds (SotW requests say both in `version_info`; delta requests carry none: the delta stream
   * passes the version it sent and the version ACKed last).
   */
  protected settleReply(state: State, req: Request, acked: string, kept: string): "reply" | "stale" | "none" {
    if (req.responseNonce === "") return "none";
    if (state.nonce !== "" && req.responseNonce !== state.nonce) return "stale";
    if (req.responseNonce !== state.nonce || !state.awaitingReply) return "none";
    const events = this.o.events;
    const now = this.o.now?.() ?? Date.now();
    if (req.errorDetail) {
      const nack = state.recordNack(req.errorDetail.code, req.errorDetail.message, now);
      events?.nack?.(this.o.info, {
        typeUrl: state.type.typeUrl,
        versionInfo: kept,
        nonce: req.responseNonce,
        rejectedVersion: nack.rejectedVersion,
        code: nack.code,
        message: nack.message,
      });
    } else {
      if (state.heartbeatInFlight) state.recordHeartbeatAck();
      else state.recordAck(acked, now);
      events?.ack?.(this.o.info, state.type.typeUrl, acked, req.responseNonce);
    }
    return "reply";
  }

  protected nextNonce(): string {
    return `${this.o.info.id.toString(36)}-${(++this.#nonceCounter).toString(36)}`;
  }

  /**
   * Whether the client may be served the snapshot of its node, by the identity of its certificate (authorization.ts).
   * Asked before anything of a snapshot is sent: a stream's first request, every push, every heartbeat. When not,
   * the call ends with PERMISSION_DENIED and nothing of the snapshot goes out. A snapshot is judged once per
   * stream: the decision is the snapshot's readers' and the stream's identity's, which never changes.
   */
  protected mayServe(): boolean {
    if (this.closed) return false;
    const { authorize, info } = this.o;
    if (!authorize || info.nodeKey === undefined) return true;
    const snapshot = this.o.source.snapshotFor(info.nodeKey);
    if (!snapshot || snapshot === this.#authorizedFor) return true; // nothing to serve yet: judged when there is
    const denial = authorize(info.identity, info.nodeKey, snapshot);
    if (denial === undefined) {
      this.#authorizedFor = snapshot;
      return true;
    }
    this.o.events?.denied?.(info, denial);
    this.o.fail?.(GrpcStatus.PERMISSION_DENIED, denial);
    this.close(`permission denied: ${denial}`);
    return false;
  }

  /** The cache published a new snapshot for this stream's node: push what changed, in ADS order. */
  pushAll(): void {
    if (!this.mayServe()) return;
    for (const typeUrl of byPushOrder(this.types.keys())) this.respond(this.types.get(typeUrl)!);
    this.releaseRemovals();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#stopHeartbeats();
    this.#node.close();
    this.types.clear();
    this.o.events?.streamClosed?.(this.o.info, reason);
  }

  /** Whether types served on this stream may name resources of `state`'s type (make before break applies). */
  protected usersServed(state: State): boolean {
    return state.type.usedBy?.some((typeUrl) => this.types.has(typeUrl)) ?? false;
  }

  /**
   * Sends the removals held back ("make before break", xDS spec: drop stale clusters only after nothing references
   * them; a route still naming a deleted cluster answers 503) for every type whose users (ResourceType.usedBy)
   * have been pushed the latest snapshot and have acknowledged it.
   */
  protected releaseRemovals(): void {
    const snapshot = this.o.info.nodeKey === undefined ? undefined : this.o.source.snapshotFor(this.o.info.nodeKey);
    if (!snapshot) return;
    this.#armHeartbeats(snapshot);
    for (const state of this.types.values()) {
      if (!state.retaining || state.awaitingReply) continue;
      const usersSettled = [...this.types.values()].every(
        (other) => !state.type.usedBy?.includes(other.type.typeUrl) || (!other.awaitingReply && other.synced === snapshot),
      );
      if (!usersSettled) continue;
      state.retaining = false;
      state.synced = undefined; // compare with what the client holds, the held-back resources included
      this.respond(state, false);
    }
  }

  /**
   * Keeps a heartbeat timer running while the snapshot has resources with a TTL of the types this stream serves,
   * at half the shortest TTL (ttl-resources.ts heartbeatInterval): a client that holds them is refreshed well
   * before they expire, and one heartbeat may be lost.
   */
  #armHeartbeats(snapshot: Snapshot): void {
    const ttls: number[] = [];
    for (const typeUrl of this.types.keys()) for (const r of expiringResources(snapshot, typeUrl)) ttls.push(r.ttlMs!);
    const every = heartbeatInterval(ttls);
    if (every === this.#heartbeat?.every) return;
    this.#stopHeartbeats();
    if (every === undefined) return;
    const timers = this.o.timers ?? defaultTimers;
    this.#heartbeat = { every, handle: timers.setInterval(() => this.sendHeartbeats(), every) };
  }

  #stopHeartbeats(): void {
    if (!this.#heartbeat) return;
    (this.o.timers ?? defaultTimers).clearInterval(this.#heartbeat.handle);
    this.#heartbeat = undefined;
  }

  /** One heartbeat round: each type with nothing in flight refreshes what the client holds with a TTL. */
  sendHeartbeats(): void {
    if (this.closed || this.o.info.nodeKey === undefined || !this.mayServe()) return;
    const snapshot = this.o.source.snapshotFor(this.o.info.nodeKey);
    if (!snapshot) return;
    for (const typeUrl of byPushOrder(this.types.keys())) {
      const state = this.types.get(typeUrl)!;
      // A response in flight, or a push on its way, carries the latest resources, TTL included.
      if (state.awaitingReply || state.synced !== snapshot) continue;
      const due = this.heartbeatDue(state, snapshot);
      if (due.length > 0) this.heartbeat(state, snapshot, due);
    }
  }
}
