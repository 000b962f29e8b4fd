// The state-of-the-world stream state machine: one per gRPC stream (ADS, or a per-type service such as
// EndpointDiscoveryService.StreamEndpoints). It takes requests and snapshot changes and decides what to send; it
// does no I/O itself (the transport gives it `send`), so every protocol rule below is unit-tested without a socket.
//
// Within a stream each type is an independent sub-stream with its own nonce and ACK state. Rules followed here,
// from the xDS spec (envoy docs/root/api-docs/xds_protocol.rst) unless noted:
// - At most one response per type is in flight: the next waits for the client's ACK or NACK of this one. Changes
//   that arrive meanwhile coalesce, because what is sent is always computed from the latest snapshot. This is the
//   backpressure that bounds memory per slow client.
// - Types never wait for each other: during cluster warming Envoy holds the CDS ACK until EDS arrives, so gating
//   EDS on the CDS ACK would deadlock (Envoy test CdsPausedDuringWarming).
// - ACK = `response_nonce` of the latest response and no `error_detail`; NACK = `error_detail`. NACKs are told by
//   `error_detail` alone: gRPC may put the new version in a NACK (gRFC A46).
// - After a NACK the rejected content is not sent again; the next different content is. The client keeps what it
//   ACKed before: heartbeats refresh that, at its version, and make before break holds back only removals of that
//   (a cluster the client rejected and never held is no reason to wait: config that goes back to what the client
//   kept is sent at once, and its ACK ends the NACK).
// - A request whose nonce is not the latest one sent for its type is stale and is not answered: the client will
//   ACK or NACK the newer response with its current subscription.
// - The first request for a type on a stream is answered with everything subscribed, unless its version_info (the
//   version the client last accepted, on an earlier stream) is the version of what it subscribes to here: then it
//   holds that content already, and nothing is sent until it changes (#resume). Nonces and ACK state never survive
//   a reconnect.
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { versionOfSet, type Snapshot } from "../../cache/snapshot.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import type { ResourceType } from "../../resource/types.js";
import { ClientTypeState, sentVersionsOf, subscribedResources, subscribedVersion } from "../client-state.js";
import { Subscription } from "../subscription.js";
import { encodeNonceField, sharedResponseBody, type SotwResponse } from "./sotw-response.js";
import { TypedStream, type TypedStreamOptions } from "./typed-stream.js";

export type SotwStreamOptions = TypedStreamOptions<SotwResponse>;

class SotwTypeState extends ClientTypeState<Subscription> {
  /**
   * Full-state types: the resources the client holds — those of the latest response it ACKed. A NACKed response's
   * never are: a heartbeat re-sends these, and make-before-break keeps back only removals of these.
   */
  held: readonly EncodedResource[] = [];
  /** Full-state types: the resources of the response in flight, held once the client ACKs it. */
  heldOnAck: readonly EncodedResource[] | undefined;

  constructor(type: ResourceType) {
    super(type, new Subscription(type.wildcardByDefault));
  }
}

export class SotwStream extends TypedStream<SotwTypeState, DiscoveryRequest, SotwResponse> {
  protected newState(type: ResourceType): SotwTypeState {
    return new SotwTypeState(type);
  }

  handleRequest(req: DiscoveryRequest): void {
    const begun = this.begin(req);
    if (!begun) return;
    const { state, first } = begun;
    const { type } = state;
    const reply = this.settleReply(state, req, req.versionInfo, req.versionInfo);
    if (reply === "stale") {
      this.o.events?.ignored?.(this.o.info, req, `stale nonce ${req.responseNonce} (latest is ${state.nonce})`);
      return;
    }
    if (reply === "reply") {
      if (!req.errorDetail && state.heldOnAck) state.held = state.heldOnAck;
      state.heldOnAck = undefined;
    }

    // Envoy 1.40 re-sends its LDS/CDS wildcard subscription after a reconnect as an empty list (checked against the
    // real binary; older releases listed the known names, Envoy test ResourceNamesOnStreamReset), so the standard
    // legacy rule holds for it; the e2e test "after xdsd restarts, Envoy reconnects and receives a cluster added
    // afterwards" guards this.
    const { changed, added } = state.subscription.update(req.resourceNames);
    if (changed) {
      // A (re)subscribed name is sent even if the client was sent it before; a name no longer covered is
      // forgotten so that a later resubscribe resends it. Unsubscribing needs no answer.
      for (const name of added) state.forgetSent(name);
      for (const name of state.sent.keys()) if (!state.subscription.covers(name)) state.forgetSent(name);
      if (added.length > 0 && type.sotwFullState) state.mustAnswer = true;
      state.synced = undefined;
    }
    if (first && req.versionInfo !== "" && req.responseNonce === "") this.#resume(state, req.versionInfo);

    this.respond(state);
    this.releaseRemovals();
  }

  /**
   * A client opening a new stream says in version_info what it accepted on its last one (xDS spec: the version of
   * the most recent successfully applied response); xdsd restarted, or the client moved here from another replica
   * (issue 20). Versions are content hashes, the same on every replica for the same content, so when it is the
   * version of what the subscription covers here the client holds exactly that, and is sent nothing until it
   * changes — as the delta protocol does by initial_resource_versions, and REST polls by answering 304.
   */
  #resume(state: SotwTypeState, versionInfo: string): void {
    const snapshot = this.o.source.snapshotFor(this.o.info.nodeKey!);
    if (!snapshot) return;
    const { type, subscription } = state;
    const subscribed = subscribedResources(snapshot, type.typeUrl, subscription);
    if (subscribedVersion(snapshot, type.typeUrl, subscription, subscribed) !== versionInfo) return;
    state.holdExactly(sentVersionsOf(snapshot, type.typeUrl, versionInfo, subscription.key(), subscribed));
    if (type.sotwFullState) state.held = subscribed;
    const now = this.o.now?.() ?? Date.now();
    state.recordResponse(versionInfo, now);
    state.recordAck(versionInfo, now);
    state.synced = snapshot;
    state.mustAnswer = false;
  }

  /** What the stream has sent and had acknowledged, per type (for status and tests). */
  typeStatus(): {
    typeUrl: string;
    nonce: string;
    awaitingReply: boolean;
    versionInfo: string;
    rejectedVersion?: string;
    names: string[];
    wildcard: boolean;
  }[] {
    return [...this.types.values()].map((s) => ({
      typeUrl: s.type.typeUrl,
      nonce: s.nonce,
      awaitingReply: s.awaitingReply,
      versionInfo: s.sentVersionInfo,
      rejectedVersion: s.rejectedVersion,
      names: [...s.subscription.names],
      wildcard: s.subscription.wildcard,
    }));
  }

  /**
   * `delayRemovals`: a full-state response that would delete resources the client holds keeps them for now, when
   * types that use them are served on this stream ("make before break", xDS spec: drop stale clusters only
   * after nothing references them; a route still naming a deleted cluster answers 503). They are dropped by
   * #releaseRemovals once the types that use them (ResourceType.usedBy) have been pushed the same snapshot and
   * have acknowledged it.
   */
  protected respond(state: SotwTypeState, delayRemovals = true): void {
    if (state.awaitingReply) return; // recomputed from the latest snapshot when the reply arrives
    const snapshot = this.o.source.snapshotFor(this.o.info.nodeKey!);
    if (!snapshot) return; // remembered: the watch answers when a snapshot is published
    const { type, subscription } = state;
    if (!state.mustAnswer && state.synced === snapshot) return;

    const { changed, gone } = state.synced && !state.mustAnswer ? this.#changesSinceSynced(state, snapshot) : this.#changesSinceSent(state, snapshot);
    state.synced = snapshot;
    if (!state.mustAnswer && changed.length === 0 && !(gone && type.sotwFullState)) return;

    const subscribed = subscribedResources(snapshot, type.typeUrl, subscription);
    let versionInfo = subscribedVersion(snapshot, type.typeUrl, subscription, subscribed);
    // LDS/CDS carry the whole subscribed set (a missing resource is deleted by the client); RDS/EDS only changes.
    // When everything subscribed changed (a first response), the changes are the memoized subscribed set itself,
    // named by the subscription key: no per-stream sort of the names.
    const whole = type.sotwFullState || changed.length === subscribed.length;
    let payload = whole ? subscribed : changed;
    let contentKey = whole
      ? subscription.key()
      : payload
          .map((r) => r.name)
          .sort()
          .join("\u0000");
    const retained = gone && delayRemovals && type.sotwFullState ? this.#removalsToDelay(state, subscribed) : [];
    if (retained.length > 0) {
      payload = [...subscribed, ...retained];
      versionInfo = versionOfSet(payload);
      contentKey = `${contentKey}\u0001${retained.map((r) => r.name).join("\u0000")}`;
    }
    if (!state.mustAnswer && versionInfo === state.rejectedVersion) return;
    if (!type.sotwFullState && payload.length === 0) {
      // Nothing to tell: an empty RDS/EDS response is a no-op for the client.
      state.mustAnswer = false;
      return;
    }
    const body = sharedResponseBody(snapshot, type.typeUrl, versionInfo, payload, contentKey, { controlPlaneId: this.o.controlPlaneId });
    const nonce = this.nextNonce();

    state.nonce = nonce;
    state.recordResponse(versionInfo, this.o.now?.() ?? Date.now());
    state.mustAnswer = false;
    state.retaining = retained.length > 0;
    // A full-state response replaces what the client holds; so does a first RDS/EDS response. Either way the
    // versions sent are the same for every stream sent this content: share them.
    if (type.sotwFullState || state.sent.size === 0) state.holdExactly(sentVersionsOf(snapshot, type.typeUrl, versionInfo, contentKey, payload));
    else for (const r of payload) state.recordSent(r.name, r.version);
    state.heldOnAck = type.sotwFullState ? payload : undefined;

    const nonceField = encodeNonceField(nonce);
    const bytes = body.byteLength + nonceField.byteLength;
    const response: SotwResponse = { typeUrl: type.typeUrl, versionInfo, nonce, resources: payload, body, nonceField, bytes };
    this.o.send(response);
    this.o.events?.response?.(this.o.info, response);
  }

  /**
   * A SotW heartbeat re-sends resources with their bodies at the version the client holds (ttl-resources.ts: Envoy
   * ignores body-less ones in SotW): for LDS/CDS the whole set it holds, since a response is the complete set;
   * for the other types just the resources due.
   */
  protected heartbeat(state: SotwTypeState, snapshot: Snapshot, due: readonly EncodedResource[]): void {
    const { type } = state;
    const payload = type.sotwFullState ? state.held : due;
    // The version of what the client holds: after a NACK, the one it kept.
    const versionInfo = state.ackedVersionInfo;
    const contentKey = `heartbeat\u0001${payload
      .map((r) => r.name)
      .sort()
      .join("\u0000")}`;
    const body = sharedResponseBody(snapshot, type.typeUrl, versionInfo, payload, contentKey, { controlPlaneId: this.o.controlPlaneId });
    const nonce = this.nextNonce();
    state.nonce = nonce;
    state.recordHeartbeat(payload.map((r) => r.name));
    const nonceField = encodeNonceField(nonce);
    const bytes = body.byteLength + nonceField.byteLength;
    const response: SotwResponse = { typeUrl: type.typeUrl, versionInfo, nonce, resources: payload, body, nonceField, bytes };
    this.o.send(response);
    this.o.events?.response?.(this.o.info, { ...response, heartbeat: true });
  }

  /** Full-state types: the resources with a TTL the client holds, at the versions it holds (a NACK keeps them). */
  protected override heartbeatDue(state: SotwTypeState, snapshot: Snapshot): EncodedResource[] {
    return state.type.sotwFullState ? state.held.filter((r) => r.ttlMs !== undefined) : super.heartbeatDue(state, snapshot);
  }

  /** Resources the client holds and the snapshot dropped, if types served on this stream may still name them. */
  #removalsToDelay(state: SotwTypeState, subscribed: readonly EncodedResource[]): EncodedResource[] {
    if (!this.usersServed(state)) return [];
    const present = new Set(subscribed.map((r) => r.name));
    return state.held.filter((r) => !present.has(r.name) && state.subscription.covers(r.name));
  }

  /** The slow path: compare every subscribed resource with what the client was sent. */
  #changesSinceSent(state: SotwTypeState, snapshot: Snapshot): { changed: EncodedResource[]; gone: boolean } {
    const subscribed = subscribedResources(snapshot, state.type.typeUrl, state.subscription);
    const changed = subscribed.filter((r) => state.sent.get(r.name) !== r.version);
    let gone = false;
    if (state.sent.size + changed.length > subscribed.length) {
      const present = new Set(subscribed.map((r) => r.name));
      for (const name of state.sent.keys()) {
        if (present.has(name)) continue;
        gone = true;
        // Absence is not deletion for RDS/EDS: forget the name so that if it comes back it is sent again.
        if (!state.type.sotwFullState) state.forgetSent(name);
      }
    }
    return { changed, gone };
  }

  /** The fast path: only what the snapshot changed since the one `sent` was reconciled with. */
  #changesSinceSynced(state: SotwTypeState, snapshot: Snapshot): { changed: EncodedResource[]; gone: boolean } {
    const diff = snapshot.changesSince(state.synced!, state.type.typeUrl);
    const changed = diff.changed.filter((r) => state.subscription.covers(r.name) && state.sent.get(r.name) !== r.version);
    let gone = false;
    for (const name of diff.removed) {
      if (!state.sent.has(name)) continue;
      gone = true;
      if (!state.type.sotwFullState) state.forgetSent(name);
    }
    return { changed, gone };
  }
}
