// What one client holds of one type, and where its exchange of that type stands: the state every protocol keeps per
// (stream, type) — state of the world, incremental and REST alike. The protocol decides what to send; this module
// remembers what was sent, acknowledged and rejected, and when — the one record that status pages, CSDS and metrics
// read (client-status.ts) — and derives from a snapshot what a subscription covers (computed once per snapshot and
// subscription, and shared by every stream subscribed alike).
import { versionOfSet, type Snapshot } from "../cache/snapshot.js";
import type { EncodedResource } from "../resource/encoded-resource.js";
import type { ResourceType } from "../resource/types.js";
import { memoOf } from "./snapshot-memo.js";
import type { SubscribedNames } from "./subscription.js";

/** A NACK as the client state keeps it. */
export interface NackRecord {
  /** The version of the response rejected. */
  readonly rejectedVersion: string;
  /** The version the client keeps: the one it ACKed last ("" for none). */
  readonly keptVersion: string;
  /** google.rpc.Code and message of the request's `error_detail` (REST's inferred NACKs: 0, and why). */
  readonly code: number;
  readonly message: string;
  /** ms since the epoch. */
  readonly at: number;
}

export class ClientTypeState<S extends SubscribedNames = SubscribedNames> {
  readonly subscription: S;
  /** Nonce of the latest response of this type; "" before the first. */
  nonce = "";
  /** A response awaits the client's ACK or NACK. */
  awaitingReply = false;
  /**
   * The response in flight is a heartbeat (ttl-resources.ts) of these names: it refreshes what the client holds,
   * so its ACK changes nothing recorded here (a NACK kept from before stays: the content the client rejected is
   * still not sent again).
   */
  heartbeatInFlight: readonly string[] | undefined;
  /**
   * Per name, the version the client was last sent, so holds or has rejected. After a full-state response it is
   * the map memoized on the snapshot for that content and shared by every stream sent it (a 1,000-cluster CDS
   * push to 1,000 streams would otherwise build a million map entries per update); it is copied before its first
   * change.
   */
  #sent: Map<string, string> = new Map();
  #sentIsShared = false;
  /**
   * What the client holds — `sent` as it was when the client last ACKed — kept as what changed in `sent` since then:
   * each name's version before its first change since the ACK (undefined: it was absent), or, once `sent` was
   * replaced whole, the map it held. The client keeps it while a response awaits its answer and after a NACK, so
   * status can say what the client really holds (node-diff.ts). An ACK clears it. An undo record rather than a copy
   * of `sent` at each ACK: copying a 500-name map per stream per change cost 40 ms of CPU per change on 500 streams
   * (bench/daemon-update.ts), and only status readers, rarely, need the map itself.
   */
  #changedSinceAck: Map<string, string | undefined> | undefined;
  #ackedWhole: ReadonlyMap<string, string> | undefined = new Map();
  sentVersionInfo = "";
  /**
   * The version of the response the client ACKed last ("" before its first ACK): what it keeps when it NACKs the
   * next, for protocols whose requests do not say it (incremental requests carry no version).
   */
  ackedVersionInfo = "";
  /** version_info of the content the client NACKed last; it is not sent again. */
  rejectedVersion: string | undefined;
  /** When the latest response (not a heartbeat) was sent, and when the client last ACKed one (ms since the epoch). */
  sentAt: number | undefined;
  ackedAt: number | undefined;
  /** The client's latest NACK, kept until it ACKs a later response. */
  lastNack: NackRecord | undefined;
  /** NACKs of this type since the client connected. */
  nacks = 0;
  /** A response is owed whatever the content: the first request of the type, or a full-state type gained names. */
  mustAnswer = true;
  /**
   * The snapshot that `sent` was last reconciled with for the current subscription. From it, the next push only
   * needs the snapshot's diff, not a walk over every subscribed name. Cleared when the subscription changes.
   */
  synced: Snapshot | undefined;
  /** The latest response kept resources the snapshot no longer has, to drop once the types using them settle. */
  retaining = false;

  constructor(
    readonly type: ResourceType,
    subscription: S,
  ) {
    this.subscription = subscription;
  }

  get sent(): ReadonlyMap<string, string> {
    return this.#sent;
  }

  /** What the client holds: each name's version as of its latest ACK (built on demand while it differs from `sent`). */
  get acked(): ReadonlyMap<string, string> {
    if (this.#ackedWhole) return this.#ackedWhole;
    const changed = this.#changedSinceAck;
    if (!changed || changed.size === 0) return this.#sent;
    const acked = new Map(this.#sent);
    for (const [name, version] of changed) {
      if (version === undefined) acked.delete(name);
      else acked.set(name, version);
    }
    return acked;
  }

  /** A response carrying `versionInfo` is on its way to the client. */
  recordResponse(versionInfo: string, now: number): void {
    this.awaitingReply = true;
    this.heartbeatInFlight = undefined;
    this.sentVersionInfo = versionInfo;
    this.sentAt = now;
  }

  /** A heartbeat of `names` is on its way to the client. */
  recordHeartbeat(names: readonly string[]): void {
    this.awaitingReply = true;
    this.heartbeatInFlight = names;
  }

  /** The client accepted the heartbeat in flight: it holds what it held. */
  recordHeartbeatAck(): void {
    this.awaitingReply = false;
    this.heartbeatInFlight = undefined;
  }

  /** The client accepted the response in flight, which carried `versionInfo`. */
  recordAck(versionInfo: string, now: number): void {
    this.awaitingReply = false;
    this.rejectedVersion = undefined;
    this.ackedVersionInfo = versionInfo;
    this.ackedAt = now;
    this.lastNack = undefined;
    // At most one response is in flight per type (invariant 2): `sent` is what was ACKed.
    this.#changedSinceAck = undefined;
    this.#ackedWhole = undefined;
  }

  /**
   * The client rejected the response in flight: its content is not sent again. It keeps what it ACKed last — one
   * record whatever the protocol says in the NACK (a delta request carries no version).
   */
  recordNack(code: number, message: string, now: number): NackRecord {
    this.awaitingReply = false;
    this.heartbeatInFlight = undefined;
    this.rejectedVersion = this.sentVersionInfo;
    this.nacks++;
    this.lastNack = { rejectedVersion: this.sentVersionInfo, keptVersion: this.ackedVersionInfo, code, message, at: now };
    return this.lastNack;
  }

  /** The client was sent exactly `versions` (all it holds of the type); the map is shared and never changed here. */
  holdExactly(versions: Map<string, string>): void {
    this.#ackedWhole ??= this.acked;
    this.#changedSinceAck = undefined;
    this.#sent = versions;
    this.#sentIsShared = true;
  }

  recordSent(name: string, version: string): void {
    this.#noteChange(name);
    this.#ownSent().set(name, version);
  }

  forgetSent(name: string): void {
    if (!this.#sent.has(name)) return;
    this.#noteChange(name);
    this.#ownSent().delete(name);
  }

  /** Remembers `name`'s version in `sent` before its first change since the last ACK. */
  #noteChange(name: string): void {
    if (this.#ackedWhole) return;
    const changed = (this.#changedSinceAck ??= new Map());
    if (!changed.has(name)) changed.set(name, this.#sent.get(name));
  }

  #ownSent(): Map<string, string> {
    if (this.#sentIsShared) {
      this.#sent = new Map(this.#sent);
      this.#sentIsShared = false;
    }
    return this.#sent;
  }
}

/** Name → version of a response's resources; computed once per content (the key of its shared body) and shared. */
export function sentVersionsOf(
  snapshot: Snapshot,
  typeUrl: string,
  versionInfo: string,
  contentKey: string,
  payload: readonly EncodedResource[],
): Map<string, string> {
  return memoOf(snapshot).get(
    `sent\u0000${typeUrl}\u0000${versionInfo}`,
    contentKey,
    () => new Map(payload.map((r) => [r.name, r.version])),
    (m) => m.size * 64,
  );
}

/** The resources of a snapshot a subscription covers; computed once per (snapshot, subscription) and shared. */
export function subscribedResources(snapshot: Snapshot, typeUrl: string, subscription: SubscribedNames): EncodedResource[] {
  return memoOf(snapshot).get(
    `subscribed\u0000${typeUrl}`,
    subscription.key(),
    () => {
      const all = snapshot.resources(typeUrl);
      if (subscription.wildcard) return [...all.values()];
      const out: EncodedResource[] = [];
      for (const name of subscription.names) {
        const r = all.get(name);
        if (r) out.push(r);
      }
      return out;
    },
    (list) => list.length * 8,
  );
}

/**
 * The `version_info` of what a subscription covers in a snapshot: the same for every client subscribed alike,
 * whatever protocol asks (SotW streams and REST polls share it, so a client moving between them is not re-sent
 * what it has).
 */
export function subscribedVersion(snapshot: Snapshot, typeUrl: string, subscription: SubscribedNames, subscribed: readonly EncodedResource[]): string {
  return memoOf(snapshot).get(`version\u0000${typeUrl}`, subscription.key(), () => versionOfSet(subscribed));
}

/** The resources of a type that carry a TTL (usually few or none); computed once per snapshot. */
export function expiringResources(snapshot: Snapshot, typeUrl: string): readonly EncodedResource[] {
  return memoOf(snapshot).get(
    "expiring",
    typeUrl,
    () => [...snapshot.resources(typeUrl).values()].filter((r) => r.ttlMs !== undefined),
    (list) => list.length * 8,
  );
}
