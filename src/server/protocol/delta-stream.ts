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
// - The first request of a type with nothing held (no `initial_resource_versions`) is answered even when there is
//   nothing to send, so that a starting Envoy does not wait for its initial fetch timeout: a wildcard with nothing
//   to send, and VHDS, whose first request subscribes to nothing (Envoy 1.40 sends empty lists for VirtualHost
//   and holds the route configuration's init until the first VHDS response: unanswered, it waited the 15 s of
//   `init_fetch_timeout`).
// - On demand (types.ts onDemandMetadataKey): a resource marked on demand is not part of a wildcard; it is sent
//   to a stream that names it. A held resource that no name or wildcard covers any more is told removed to a
//   wildcard stream (the client cannot tell which of its subscriptions brought it: checklist F.29).
// - Aliases (VHDS, resource/vhds-names.ts): a subscribed name that is no resource's stands for the resource the
//   type's resolveAlias finds. That resource is sent, under its own name, with the requested name in `aliases`;
//   a name that stands for nothing is sent as a Resource with that name and alias and no `resource`. Each
//   resolution is told once, and again when it changes or the name is subscribed again; the resource is kept up
//   to date like any subscribed one while a name stands for it, and told removed when none does.
// - Namespaces (VHDS): Envoy subscribes to the virtual hosts of a route configuration by namespace — its
//   VhdsSubscription starts a watch on the route configuration's name with namespace matching, and Envoy leaves
//   such names out of its requests (the first VirtualHost request of a stream has empty lists). Its watch map
//   hands a watch only the resources and removals inside its namespace, and never an empty response, yet the
//   route configuration (and so its listener) stays warming until the watch gets one update or its 15 s
//   init_fetch_timeout passes. So, once a stream holds a RouteConfiguration with `vhds` and has a VirtualHost
//   sub-stream, it is sent, once, the removal of `<route configuration>/` — a name no virtual host has (resource
//   names need a host after the "/"), so a no-op by the protocol that reaches the namespace's watch — and
//   nothing else: the virtual hosts come on demand.
import type { Snapshot } from "../../cache/snapshot.js";
import type { DeltaDiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import type { ResourceType } from "../../resource/types.js";
import { ClientTypeState, sentVersionsOf, subscribedResources } from "../client-state.js";
import { memoOf } from "../snapshot-memo.js";
import { DeltaSubscription, type SubscribedNames } from "../subscription.js";
import { type DeltaResponse, encodeDeltaNonceField, sharedDeltaBody } from "./delta-response.js";
import { TypedStream, type TypedStreamOptions } from "./typed-stream.js";

export type DeltaStreamOptions = TypedStreamOptions<DeltaResponse>;

class DeltaTypeState extends ClientTypeState<DeltaSubscription> {
  /** Subscribed names the server does not have and has told the client so (in `removed_resources`). */
  readonly toldAbsent = new Set<string>();
  /** Aliased types: subscribed names that are no resource's → the resource name told for each (null: none). */
  readonly toldAliases = new Map<string, string | null>();
  /** Namespaced types: the namespaces opened on this stream whose opening has been sent. */
  readonly openedNamespaces = new Set<string>();

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
    // A delta request says no version: a NACK keeps what was ACKed last (issue 18: /nodes showed an empty kept
    // version beside the ACKed one).
    const heartbeat = state.heartbeatInFlight;
    const reply = this.settleReply(state, req, state.sentVersionInfo, state.ackedVersionInfo);
    if (reply === "stale") {
      // The client will answer the newer response. Its subscription changes still apply (checklist F.28).
      this.o.events?.ignored?.(this.o.info, req, `stale nonce ${req.responseNonce} (latest is ${state.nonce || "none"}); subscription changes applied`);
    } else if (reply === "reply" && req.errorDetail && heartbeat) {
      this.#heartbeatRefused(state, heartbeat);
    }

    const initial = first ? Object.entries(req.initialResourceVersions) : [];
    for (const [name, version] of initial) state.recordSent(name, version);
    const { subscribed, unsubscribed, changed } = state.subscription.update(req.resourceNamesSubscribe, req.resourceNamesUnsubscribe);
    const heldBefore = new Set(initial.map(([name]) => name));
    for (const name of subscribed) {
      state.toldAbsent.delete(name);
      state.toldAliases.delete(name);
      // Sent even if the client was sent it before — except what it says it holds on its first request.
      if (!heldBefore.has(name)) state.forgetSent(name);
    }
    const snapshot = unsubscribed.length > 0 && state.subscription.wildcard ? this.#snapshot() : undefined;
    for (const name of unsubscribed) {
      state.toldAbsent.delete(name);
      state.toldAliases.delete(name);
      // Still under a wildcard: send it again (the client may have dropped it); otherwise the client dropped it.
      // An on-demand resource the wildcard does not cover stays held, so that it is told removed.
      if (!snapshot?.resources(state.type.typeUrl).get(name)?.onDemand) state.forgetSent(name);
    }
    if (first && initial.length === 0) state.mustAnswer = true;
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

  #snapshot(): Snapshot | undefined {
    return this.o.info.nodeKey === undefined ? undefined : this.o.source.snapshotFor(this.o.info.nodeKey);
  }

  /** `delayRemovals`: make before break, as in sotw-stream.ts (a removal waits for the types that use it). */
  protected respond(state: DeltaTypeState, delayRemovals = true): void {
    if (state.awaitingReply) return; // recomputed from the latest snapshot when the reply arrives
    const snapshot = this.o.source.snapshotFor(this.o.info.nodeKey!);
    if (!snapshot) return;
    if (!state.mustAnswer && state.synced === snapshot) return;
    const { type, subscription } = state;

    // Aliased and namespaced types take the slow path every time: what a name stands for can change with any
    // resource of the type, and what is opened with what the client holds of another type.
    const fast = state.synced && !type.resolveAlias && !type.namespacesOpenedBy;
    const changes = fast ? this.#changesSinceSynced(state, snapshot) : this.#changesSinceHeld(state, snapshot);
    const { resources, all, aliases, unresolved } = changes;
    const removed = changes.opened.length > 0 ? [...changes.removed, ...changes.opened.map(namespaceMarker)] : changes.removed;
    state.synced = snapshot;
    let withheld = false;
    let removing = removed;
    if (delayRemovals && removed.length > 0 && this.usersServed(state)) {
      // Names the client holds stay held for now; absent names it never had can be told at once.
      removing = removed.filter((name) => !state.sent.has(name));
      withheld = removing.length < removed.length;
    }
    state.retaining = state.retaining || withheld;
    if (resources.length === 0 && removing.length === 0 && unresolved.length === 0 && !state.mustAnswer) return;

    const versionInfo = snapshot.typeVersion(type.typeUrl);
    // A first response carrying everything subscribed is the same for every stream subscribed alike: key it by the
    // subscription, with no per-stream sort.
    let contentKey =
      all && removing.length === 0
        ? `all\u0001${subscription.key()}`
        : `${resources
            .map((r) => r.name)
            .sort()
            .join("\u0000")}\u0001${[...removing].sort().join("\u0000")}`;
    if (aliases.size > 0 || unresolved.length > 0) {
      const told = [...aliases].map(([name, names]) => `${name}\u0003${names.join("\u0003")}`).sort();
      contentKey = `${contentKey}\u0002${told.join("\u0000")}\u0002${[...unresolved].sort().join("\u0000")}`;
    }
    const body = sharedDeltaBody(snapshot, type.typeUrl, versionInfo, resources, removing, contentKey, {
      controlPlaneId: this.o.controlPlaneId,
      aliases,
      unresolved,
    });
    const nonce = this.nextNonce();
    const nonceField = encodeDeltaNonceField(nonce);

    state.nonce = nonce;
    state.recordResponse(versionInfo, this.o.now?.() ?? Date.now());
    state.mustAnswer = false;
    if (all && state.sent.size === 0) state.holdExactly(sentVersionsOf(snapshot, type.typeUrl, versionInfo, contentKey, resources));
    else for (const r of resources) state.recordSent(r.name, r.version);
    for (const name of resources) state.toldAbsent.delete(name.name);
    for (const name of removing) {
      state.forgetSent(name);
      if (subscription.names.has(name)) state.toldAbsent.add(name);
    }
    for (const [name, names] of aliases) for (const alias of names) state.toldAliases.set(alias, name);
    for (const alias of unresolved) state.toldAliases.set(alias, null);
    for (const namespace of changes.opened) state.openedNamespaces.add(namespace);

    const response: DeltaResponse = {
      typeUrl: type.typeUrl,
      versionInfo,
      nonce,
      resources,
      removed: removing,
      ...(aliases.size > 0 ? { aliases } : {}),
      ...(unresolved.length > 0 ? { unresolved } : {}),
      body,
      nonceField,
      bytes: body.byteLength + nonceField.byteLength,
    };
    this.o.send(response);
    this.o.events?.response?.(this.o.info, response);
    // A type whose namespaces this one opens may now have one to open (sent after this response: the client
    // handles it first and starts the watch).
    for (const other of this.types.values()) {
      if (other.type.namespacesOpenedBy?.typeUrl === type.typeUrl) {
        other.synced = undefined;
        this.respond(other);
      }
    }
  }

  /** A delta heartbeat: the resources due, without their bodies, at the versions the client holds (ttl-resources.ts). */
  protected heartbeat(state: DeltaTypeState, snapshot: Snapshot, due: readonly EncodedResource[]): void {
    const { type } = state;
    const versionInfo = state.sentVersionInfo;
    const contentKey = due
      .map((r) => r.name)
      .sort()
      .join("\u0000");
    const body = sharedDeltaBody(snapshot, type.typeUrl, versionInfo, due, [], contentKey, { controlPlaneId: this.o.controlPlaneId, heartbeat: true });
    const nonce = this.nextNonce();
    state.nonce = nonce;
    state.recordHeartbeat(due.map((r) => r.name));
    const nonceField = encodeDeltaNonceField(nonce);
    const bytes = body.byteLength + nonceField.byteLength;
    const response: DeltaResponse = { typeUrl: type.typeUrl, versionInfo, nonce, resources: due, removed: [], body, nonceField, bytes };
    this.o.send(response);
    this.o.events?.response?.(this.o.info, { ...response, heartbeat: true });
  }

  /**
   * The client NACKed a heartbeat: it no longer holds those resources at those versions. Envoy takes a body-less
   * resource for a heartbeat only when it holds that name at that version (delta_subscription_state.cc
   * isHeartbeatResponse); otherwise it reads it as an update without a body and rejects the whole response. That
   * happens when its TTL lapsed first and it dropped them: its timer runs from when it got a resource, ours from
   * when it answered, and a late answer or a stalled server leaves more than a TTL between two refreshes. Unless
   * they are sent again, with their bodies, every later heartbeat is refused the same way and they never come back.
   */
  #heartbeatRefused(state: DeltaTypeState, names: readonly string[]): void {
    for (const name of names) state.forgetSent(name);
    state.synced = undefined;
  }

  /**
   * The slow path: every subscribed resource against what the client holds. `all`: the resources are everything
   * subscribed (a first response), so their body and versions can be shared.
   */
  #changesSinceHeld(state: DeltaTypeState, snapshot: Snapshot): Changes {
    const { type, subscription } = state;
    const present = snapshot.resources(type.typeUrl);
    const subscribed = deltaSubscribedResources(snapshot, type.typeUrl, subscription);
    const resources = subscribed.filter((r) => state.sent.get(r.name) !== r.version);
    const aliases = new Map<string, string[]>();
    const unresolved: string[] = [];
    // Aliased types: what each subscribed name that is no resource's stands for now.
    const resolved = new Map<string, string | undefined>();
    if (type.resolveAlias) {
      for (const name of subscription.names) if (!present.has(name)) resolved.set(name, type.resolveAlias(name, present));
      for (const alias of state.toldAliases.keys()) if (!resolved.has(alias)) state.toldAliases.delete(alias);
    }
    const viaAlias = new Set<string>();
    for (const [alias, name] of resolved) {
      if (state.toldAliases.get(alias) === (name ?? null)) {
        if (name !== undefined) viaAlias.add(name);
        continue;
      }
      if (name === undefined) {
        unresolved.push(alias);
        continue;
      }
      viaAlias.add(name);
      let names = aliases.get(name);
      if (!names) aliases.set(name, (names = []));
      names.push(alias);
    }
    for (const name of viaAlias) {
      const r = present.get(name)!;
      // Sent when it changed, and whenever a newly told alias stands for it (the client resumes on the alias).
      if ((state.sent.get(name) !== r.version || aliases.has(name)) && !resources.includes(r)) resources.push(r);
    }
    const covered = (r: EncodedResource) => subscription.names.has(r.name) || (subscription.wildcard && !r.onDemand) || viaAlias.has(r.name);
    const removed: string[] = [];
    for (const name of state.sent.keys()) {
      const r = present.get(name);
      // A requested alias the client says it holds (initial_resource_versions) is no resource: its resolution is told.
      if (resolved.has(name)) state.forgetSent(name);
      else if (!r) removed.push(name);
      else if (covered(r)) continue;
      // Held, and nothing covers it any more: a client on a wildcard or asking by alias cannot tell that it should
      // drop it; a client that unsubscribed a name dropped it itself.
      else if (subscription.wildcard || type.resolveAlias) removed.push(name);
      else state.forgetSent(name);
    }
    for (const name of subscription.names) {
      if (!present.has(name) && !resolved.has(name) && !state.sent.has(name) && !state.toldAbsent.has(name)) removed.push(name);
    }
    const opened = this.#namespacesToOpen(state, snapshot);
    return { resources, removed, all: resources.length === subscribed.length && resolved.size === 0, aliases, unresolved, opened };
  }

  /** Namespaced types: namespaces opened by what the client holds of the opening type, not yet sent. */
  #namespacesToOpen(state: DeltaTypeState, snapshot: Snapshot): string[] {
    const openedBy = state.type.namespacesOpenedBy;
    const opener = openedBy && this.types.get(openedBy.typeUrl);
    if (!openedBy || !opener) return [];
    const openers = snapshot.resources(openedBy.typeUrl);
    const open = new Set<string>();
    for (const name of opener.sent.keys()) {
      const r = openers.get(name);
      const namespace = r && memoOf(snapshot).get(`namespace\u0000${openedBy.typeUrl}`, name, () => openedBy.of(r.message) ?? null);
      if (namespace) open.add(namespace);
    }
    // A namespace no longer held may be opened again later (a route configuration removed, then added back).
    for (const namespace of state.openedNamespaces) if (!open.has(namespace)) state.openedNamespaces.delete(namespace);
    return [...open].filter((namespace) => !state.openedNamespaces.has(namespace)).sort();
  }

  /** The fast path: only what the snapshot changed since the one the client's holdings were reconciled with. */
  #changesSinceSynced(state: DeltaTypeState, snapshot: Snapshot): Changes {
    const { subscription } = state;
    const diff = snapshot.changesSince(state.synced!, state.type.typeUrl);
    const resources: EncodedResource[] = [];
    const removed = diff.removed.filter((name) => state.sent.has(name) || (subscription.names.has(name) && !state.toldAbsent.has(name)));
    for (const r of diff.changed) {
      if (subscription.names.has(r.name) || (subscription.wildcard && !r.onDemand)) {
        if (state.sent.get(r.name) !== r.version) resources.push(r);
      } else if (state.sent.has(r.name)) {
        // Held under the wildcard, and now on demand: no longer the wildcard's.
        removed.push(r.name);
      }
    }
    // Held removals that were withheld earlier (make before break) are still held: look for them too.
    if (state.retaining) {
      const present = snapshot.resources(state.type.typeUrl);
      for (const name of state.sent.keys()) if (!present.has(name) && !removed.includes(name)) removed.push(name);
    }
    return { resources, removed, all: false, aliases: noAliases, unresolved: [], opened: [] };
  }
}

interface Changes {
  resources: EncodedResource[];
  removed: string[];
  /** The resources are everything subscribed (a first response): their body and versions can be shared. */
  all: boolean;
  /** Resource name → requested names newly told to stand for it. */
  aliases: ReadonlyMap<string, readonly string[]>;
  /** Requested names newly told to stand for nothing. */
  unresolved: string[];
  /** Namespaces to open, each with the removal of namespaceMarker(namespace). */
  opened: string[];
}

const noAliases: ReadonlyMap<string, readonly string[]> = new Map();

/** The name removed to open a namespace: the namespace and "/", which no resource has (vhds-names.ts). */
function namespaceMarker(namespace: string): string {
  return `${namespace}/`;
}

/**
 * What a delta subscription covers of a snapshot: its names, and under a wildcard every resource not marked on
 * demand. Computed once per (snapshot, subscription) and shared, like subscribedResources.
 */
function deltaSubscribedResources(snapshot: Snapshot, typeUrl: string, subscription: SubscribedNames): EncodedResource[] {
  const covered = subscribedResources(snapshot, typeUrl, subscription);
  if (!subscription.wildcard || !hasOnDemand(snapshot, typeUrl)) return covered;
  return memoOf(snapshot).get(
    `subscribed-delta\u0000${typeUrl}`,
    subscription.key(),
    () => covered.filter((r) => !r.onDemand || subscription.names.has(r.name)),
    (list) => list.length * 8,
  );
}

function hasOnDemand(snapshot: Snapshot, typeUrl: string): boolean {
  return memoOf(snapshot).get(`on-demand\u0000${typeUrl}`, "", () => [...snapshot.resources(typeUrl).values()].some((r) => r.onDemand));
}
