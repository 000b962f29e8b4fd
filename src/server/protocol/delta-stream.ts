// The incremental (delta) stream state machine: one per DeltaAggregatedResources stream or per-type Delta* stream.
// Like SotwStream it takes requests and snapshot changes and decides what to send, with no I/O. It shares with
// SotwStream what a client holds of each type (client-state.ts), the node watch and the server's memo, so the two
// protocols agree on every resource's version and bytes.
//
// Rules followed (envoy docs/root/api-docs/xds_protocol.rst, "Incremental xDS"; ../shared/reference/xds-protocol.md F):
// - A response carries only what changed for this client: resources whose version differs from the one the
//   client holds, and `removed_resources` for names it holds that are gone, and for names it subscribed to that
//   the server does not have (so it need not wait for a timeout).
// - Requests carry subscription changes; they are applied even when the request's nonce is stale. ACK and NACK
//   are told by the latest nonce and `error_detail`, as in SotW: a NACKed version is not sent again (the client is
//   recorded as holding what it was sent), the next different content is.
// - A name in `resource_names_subscribe` is sent even if the client was sent it before; on the first request of a
//   type, `initial_resource_versions` says what the client already holds: matching versions are not sent again,
//   changed ones are, and names the server no longer has are removed.
// - Unsubscribing a name that a wildcard still covers sends it again (checklist F.29).
// - One response per type in flight; changes meanwhile coalesce into the latest snapshot.
// - ADS pushes in the registry's order (CDS, EDS, LDS, RDS…) and a removal of a type that others use (a cluster
//   named by routes) waits until those types have been pushed the same snapshot and acknowledged it.
// - The first request of a wildcard subscription with nothing held is answered even when there is nothing to send,
//   so that a starting Envoy does not wait for its initial fetch timeout.
import type { Snapshot } from "../../cache/snapshot.js";
import type { DeltaDiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import type { ResourceType } from "../../resource/types.js";
import { ClientTypeState, sentVersionsOf, subscribedResources } from "../client-state.js";
import { DeltaSubscription } from "../subscription.js";
import { type DeltaResponse, encodeDeltaNonceField, sharedDeltaBody } from "./delta-response.js";
import { TypedStream, type TypedStreamOptions } from "./typed-stream.js";

export type DeltaStreamOptions = TypedStreamOptions<DeltaResponse>;

class DeltaTypeState extends ClientTypeState<DeltaSubscription> {
  /** Subscribed names the server does not have and has told the client so (in `removed_resources`). */
  readonly toldAbsent = new Set<string>();

  constructor(type: ResourceType) {
    super(type, new DeltaSubscription(type.wildcardByDefault));
    this.mustAnswer = false;
  }
}

export class DeltaStream extends TypedStream<DeltaTypeState, DeltaDiscoveryRequest, DeltaResponse> {
  protected newState(type: ResourceType): DeltaTypeState {
    return new DeltaTypeState(type);
  }

  handleRequest(req: DeltaDiscoveryRequest): void {
    const begun = this.begin(req);
    if (!begun) return;
    const { state, first } = begun;
    if (this.settleReply(state, req, state.sentVersionInfo, "") === "stale") {
      // The client will answer the newer response. Its subscription changes still apply (checklist F.28).
      this.o.events?.ignored?.(this.o.info, req, `stale nonce ${req.responseNonce} (latest is ${state.nonce || "none"}); subscription changes applied`);
    }

    const initial = first ? Object.entries(req.initialResourceVersions) : [];
    for (const [name, version] of initial) state.recordSent(name, version);
    const { subscribed, unsubscribed, changed } = state.subscription.update(req.resourceNamesSubscribe, req.resourceNamesUnsubscribe);
    const heldBefore = new Set(initial.map(([name]) => name));
    for (const name of subscribed) {
      state.toldAbsent.delete(name);
      // Sent even if the client was sent it before — except what it says it holds on its first request.
      if (!heldBefore.has(name)) state.forgetSent(name);
    }
    for (const name of unsubscribed) {
      state.toldAbsent.delete(name);
      // Still under a wildcard: send it again (the client may have dropped it); otherwise the client dropped it.
      state.forgetSent(name);
    }
    if (first && state.subscription.wildcard && initial.length === 0) state.mustAnswer = true;
    // Anything subscribed or unsubscribed may now need sending: compare with what the client holds.
    if (changed || first || subscribed.length > 0 || unsubscribed.length > 0) state.synced = undefined;

    this.respond(state);
    this.releaseRemovals();
  }

  /** Per type: the subscription, what the client holds, and where the exchange stands (for status and tests). */
  typeStatus(): {
    typeUrl: string;
    nonce: string;
    awaitingReply: boolean;
    wildcard: boolean;
    names: string[];
    held: Record<string, string>;
  }[] {
    return [...this.types.values()].map((s) => ({
      typeUrl: s.type.typeUrl,
      nonce: s.nonce,
      awaitingReply: s.awaitingReply,
      wildcard: s.subscription.wildcard,
      names: [...s.subscription.names].sort(),
      held: Object.fromEntries(s.sent),
    }));
  }

  /** `delayRemovals`: make before break, as in sotw-stream.ts (a removal waits for the types that use it). */
  protected respond(state: DeltaTypeState, delayRemovals = true): void {
    if (state.awaitingReply) return; // recomputed from the latest snapshot when the reply arrives
    const snapshot = this.o.source.snapshotFor(this.o.info.nodeKey!);
    if (!snapshot) return;
    if (!state.mustAnswer && state.synced === snapshot) return;
    const { type, subscription } = state;

    const { resources, removed, all } = state.synced ? this.#changesSinceSynced(state, snapshot) : this.#changesSinceHeld(state, snapshot);
    state.synced = snapshot;
    let withheld = false;
    let removing = removed;
    if (delayRemovals && removed.length > 0 && this.usersServed(state)) {
      // Names the client holds stay held for now; absent names it never had can be told at once.
      removing = removed.filter((name) => !state.sent.has(name));
      withheld = removing.length < removed.length;
    }
    state.retaining = state.retaining || withheld;
    if (resources.length === 0 && removing.length === 0 && !state.mustAnswer) return;

    const versionInfo = snapshot.typeVersion(type.typeUrl);
    // A first response carrying everything subscribed is the same for every stream subscribed alike: key it by the
    // subscription, with no per-stream sort.
    const contentKey =
      all && removing.length === 0
        ? `all\u0001${subscription.key()}`
        : `${resources
            .map((r) => r.name)
            .sort()
            .join("\u0000")}\u0001${[...removing].sort().join("\u0000")}`;
    const body = sharedDeltaBody(snapshot, type.typeUrl, versionInfo, resources, removing, contentKey, this.o.controlPlaneId);
    const nonce = this.nextNonce();

    state.nonce = nonce;
    state.awaitingReply = true;
    state.sentVersionInfo = versionInfo;
    state.mustAnswer = false;
    if (all && state.sent.size === 0) state.holdExactly(sentVersionsOf(snapshot, type.typeUrl, versionInfo, contentKey, resources));
    else for (const r of resources) state.recordSent(r.name, r.version);
    for (const name of resources) state.toldAbsent.delete(name.name);
    for (const name of removing) {
      state.forgetSent(name);
      if (subscription.names.has(name)) state.toldAbsent.add(name);
    }

    const response: DeltaResponse = { typeUrl: type.typeUrl, versionInfo, nonce, resources, removed: removing, body, nonceField: encodeDeltaNonceField(nonce) };
    this.o.send(response);
    this.o.events?.response?.(this.o.info, response);
  }

  /** A delta heartbeat: the resources due, without their bodies, at the versions the client holds (ttl-resources.ts). */
  protected heartbeat(state: DeltaTypeState, snapshot: Snapshot, due: readonly EncodedResource[]): void {
    const { type } = state;
    const versionInfo = state.sentVersionInfo;
    const contentKey = due
      .map((r) => r.name)
      .sort()
      .join("\u0000");
    const body = sharedDeltaBody(snapshot, type.typeUrl, versionInfo, due, [], contentKey, this.o.controlPlaneId, true);
    const nonce = this.nextNonce();
    state.nonce = nonce;
    state.awaitingReply = true;
    const response: DeltaResponse = { typeUrl: type.typeUrl, versionInfo, nonce, resources: due, removed: [], body, nonceField: encodeDeltaNonceField(nonce) };
    this.o.send(response);
    this.o.events?.response?.(this.o.info, { ...response, heartbeat: true });
  }

  /**
   * The slow path: every subscribed resource against what the client holds. `all`: the resources are everything
   * subscribed (a first response), so their body and versions can be shared.
   */
  #changesSinceHeld(state: DeltaTypeState, snapshot: Snapshot): { resources: EncodedResource[]; removed: string[]; all: boolean } {
    const present = snapshot.resources(state.type.typeUrl);
    const subscribed = subscribedResources(snapshot, state.type.typeUrl, state.subscription);
    const resources = subscribed.filter((r) => state.sent.get(r.name) !== r.version);
    const removed: string[] = [];
    for (const name of state.sent.keys()) {
      if (!present.has(name)) removed.push(name);
      else if (!state.subscription.covers(name)) state.forgetSent(name);
    }
    for (const name of state.subscription.names) {
      if (!present.has(name) && !state.sent.has(name) && !state.toldAbsent.has(name)) removed.push(name);
    }
    return { resources, removed, all: resources.length === subscribed.length };
  }

  /** The fast path: only what the snapshot changed since the one the client's holdings were reconciled with. */
  #changesSinceSynced(state: DeltaTypeState, snapshot: Snapshot): { resources: EncodedResource[]; removed: string[]; all: boolean } {
    const diff = snapshot.changesSince(state.synced!, state.type.typeUrl);
    const resources = diff.changed.filter((r) => state.subscription.covers(r.name) && state.sent.get(r.name) !== r.version);
    const removed = diff.removed.filter((name) => state.sent.has(name) || (state.subscription.names.has(name) && !state.toldAbsent.has(name)));
    // Held removals that were withheld earlier (make before break) are still held: look for them too.
    if (state.retaining) {
      const present = snapshot.resources(state.type.typeUrl);
      for (const name of state.sent.keys()) if (!present.has(name) && !removed.includes(name)) removed.push(name);
    }
    return { resources, removed, all: false };
  }
}
