// Rollouts: how a publish reaches the clients it concerns. The metrics (publish-to-ACK histogram, rollouts by result)
// and the write API's `?wait=acked` both read them here. One listener of the server's events (events.ts).
//
// When a publish changes the snapshot served to a node group (a cache key with connected clients), the group's
// streams and REST pollers connected at that moment are what must converge. A client is settled when (1) it has
// computed its push from the new snapshot — for a gRPC stream, once the server's push queue has drained since the
// publish (push-scheduler.ts; pushes run from the latest snapshot, so a drained queue means every stream has pushed
// it); for a REST poller, once it has polled since — and (2) it has no response in flight: everything it was sent
// has been ACKed or NACKed. A stream that needed nothing settles at (1): a proxy that does not receive what changed
// is not waited for. Nor is a REST poller that already holds, or was last sent, its subscription's version in the
// new snapshot: the change does not concern it, and a poller may never poll again (issue 18: one anonymous CDS
// poll made every endpoint write wait its whole timeout). The rollout ends when its last client settles, as acked, or as nacked if a client rejected a
// response computed from it. A newer publish for the group supersedes it (the newer one carries the change
// further); a client that disconnects is not waited for.
import { describeNode } from "../../cache/node-hash.js";
import type { SnapshotCache } from "../../cache/snapshot-cache.js";
import type { Snapshot } from "../../cache/snapshot.js";
import { findResourceType } from "../../resource/types.js";
import { subscribedResources, subscribedVersion } from "../client-state.js";
import type { NackInfo, ResponseInfo, StreamInfo, XdsServerEvents } from "./events.js";

import type { RolloutResult } from "./rollout-result.js";

export type { RolloutResult };

export interface RolloutsOptions {
  /** The cache served: its publishes start rollouts. */
  cache?: SnapshotCache;
  /** Streams told of a snapshot that have not pushed it yet, over every server (XdsServer.pendingPushes). */
  pendingPushes?: () => number;
  /** Milliseconds, monotonic; tests pass a fake. */
  now?: () => number;
  /**
   * Runs `run` once after `ms` — the push-queue sweep — and returns what cancels it. Default: an unref'd setTimeout;
   * tests pass one they fire by hand, so that no test waits on the clock.
   */
  schedule?: (run: () => void, ms: number) => () => void;
  /** Told of every rollout that ends, and how long it took (metrics count and observe them). Must not throw. */
  onFinish?(result: RolloutResult, seconds: number): void;
}

/**
 * Told how each rollout goes, client by client (the dashboard's change history plots ACKs over time). Called
 * synchronously on the server's event path: must be cheap and must not throw.
 */
export interface RolloutObserver {
  /** A publish changed group `key`'s snapshot while `clients` were connected to it. */
  started?(seq: number, key: string, clients: number): void;
  /** One of them settled: `acked` when it ACKed content of the publish (else it needed nothing, or rejected it). */
  settled?(seq: number, key: string, acked: boolean): void;
  finished?(seq: number, key: string, result: RolloutResult): void;
}

/** A client that rejected a rollout's content, as the write API reports it. */
export interface RolloutNack {
  node: string;
  type: string;
  message: string;
}

/** A client a wait gave up on: it had not settled on the publish. */
export interface RolloutLaggard {
  node: string;
  /** `ads`, `eds`…, `rest-cds`… (service-table.ts labels). */
  service: string;
}

/** What `waitForPublish` came to. */
export interface RolloutOutcome {
  /** Every client concerned ACKed: nothing pending, nothing rejected. */
  complete: boolean;
  /** Node groups with connected clients whose snapshot the publish changed. */
  groups: number;
  /** Clients that settled (ACKed, NACKed, or needed nothing). */
  settled: number;
  /**
   * Clients that ACKed content of the publish: those that use what changed. 0 when none does (issue 18, item 18:
   * "acknowledged" must not be said of a write no proxy took).
   */
  acked: number;
  nacked: RolloutNack[];
  /** When the wait timed out: the clients still expected (at most `maxListed`). */
  pending: RolloutLaggard[];
  timedOut: boolean;
}

/** How many NACKs and laggards an outcome lists at most: it is an answer to a person, not a dump. */
const maxListed = 50;

/** How often, while a rollout waits for the push queue to drain, the queue is looked at again. */
const sweepMs = 5;

interface ClientState {
  readonly info: StreamInfo;
  readonly rest: boolean;
  group?: GroupState;
  /** Type URL → the rollout seq current when its response was sent (0: none). */
  readonly inflight: Map<string, number>;
  /** The rollout seq current at the client's latest request. */
  lastRequestSeq: number;
  /** The latest rollout seq of which the client ACKed a response. */
  ackedSeq: number;
  /** REST: the version the poller holds or was last sent (its latest poll's `version_info`, or the 200 answering it). */
  polledVersion?: string;
}

interface GroupState {
  readonly key: string;
  snapshot: Snapshot | undefined;
  readonly members: Set<ClientState>;
  rollout?: Rollout;
}

interface Rollout {
  readonly seq: number;
  readonly startedAt: number;
  /** Clients connected at the publish that have not settled yet. */
  readonly pending: Set<ClientState>;
  /** The push queue has not been seen drained since the publish: gRPC streams cannot settle yet. */
  awaitingPushes: boolean;
  settled: number;
  /** Of the settled clients, those that ACKed a response of this rollout. */
  acked: number;
  readonly nacks: RolloutNack[];
}

interface Waiter {
  /** Rollouts with a seq above this one carry the publish waited for. */
  readonly after: number;
  /** Groups not settled yet. */
  readonly keys: Set<string>;
  readonly outcome: RolloutOutcome;
  readonly done: (outcome: RolloutOutcome) => void;
}

export class Rollouts implements XdsServerEvents {
  readonly #options: RolloutsOptions;
  readonly #now: () => number;
  readonly #clients = new Map<StreamInfo, ClientState>();
  readonly #closed = new WeakSet<StreamInfo>();
  readonly #groups = new Map<string, GroupState>();
  #seq = 0;
  #open = 0;
  /** Clients whose settling is looked at once the current synchronous event handling is over. */
  readonly #toCheck = new Set<ClientState>();
  #checkQueued = false;
  readonly #schedule: (run: () => void, ms: number) => () => void;
  /** Cancels the sweep scheduled, if one is. */
  #cancelSweep: (() => void) | undefined;
  readonly #waiters = new Set<Waiter>();
  #waitersCheckQueued = false;
  readonly #unsubscribe: (() => void) | undefined;
  readonly #observers = new Set<RolloutObserver>();

  constructor(options: RolloutsOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#schedule = options.schedule ?? unrefTimeout;
    this.#unsubscribe = options.cache?.onPublish(() => this.#published());
  }

  /** Node groups whose clients have not all settled on their latest publish. */
  get inProgress(): number {
    return this.#open;
  }

  /** Tells `observer` of every rollout from now on; returns what stops that. */
  observe(observer: RolloutObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /**
   * A mark to wait from: take it before a publish, then `waitForPublish(mark, …)` waits for the rollouts that
   * publish started (or, superseding them, later ones, which carry its change too).
   */
  mark(): number {
    return this.#seq;
  }

  /**
   * Resolves once every rollout started since `mark` has ended — every client concerned ACKed (or NACKed, or left)
   * — or after `timeoutMs`, listing the clients still expected. Never rejects.
   */
  waitForPublish(mark: number, timeoutMs: number): Promise<RolloutOutcome> {
    const keys = new Set<string>();
    const outcome: RolloutOutcome = { complete: true, groups: 0, settled: 0, acked: 0, nacked: [], pending: [], timedOut: false };
    for (const g of this.#groups.values()) {
      if (g.rollout && g.rollout.seq > mark) keys.add(g.key);
    }
    outcome.groups = keys.size;
    if (keys.size === 0) return Promise.resolve(outcome);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        outcome.timedOut = true;
        outcome.complete = false;
        for (const key of keys) {
          for (const c of this.#groups.get(key)?.rollout?.pending ?? []) {
            if (outcome.pending.length >= maxListed) break;
            outcome.pending.push({ node: c.info.node ? describeNode(c.info.node) : c.info.peer, service: c.info.service });
          }
        }
        resolve(outcome);
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter = {
        after: mark,
        keys,
        outcome,
        done: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  close(): void {
    this.#unsubscribe?.();
    this.#cancelSweep?.();
    this.#cancelSweep = undefined;
  }

  // ---- server events -------------------------------------------------------------------------------------------

  nodeIdentified(info: StreamInfo): void {
    this.#follow(this.#client(info));
  }

  streamClosed(info: StreamInfo): void {
    const c = this.#clients.get(info);
    this.#closed.add(info);
    if (!c) return;
    this.#clients.delete(info);
    this.#toCheck.delete(c);
    this.#leave(c);
  }

  request(info: StreamInfo, request?: { readonly typeUrl: string; readonly versionInfo?: string }): void {
    const c = this.#client(info);
    // The node comes with requests; Envoy may move a stream to another group by sending a changed one.
    this.#follow(c);
    c.lastRequestSeq = this.#seq;
    if (c.rest) {
      c.polledVersion = request?.versionInfo;
      this.#checkLater(c);
    }
  }

  response(info: StreamInfo, response: ResponseInfo): void {
    const c = this.#client(info);
    c.inflight.set(response.typeUrl, c.group?.rollout?.seq ?? 0);
    if (c.rest) c.polledVersion = response.versionInfo;
  }

  ack(info: StreamInfo, typeUrl: string): void {
    const c = this.#client(info);
    const seq = c.inflight.get(typeUrl);
    if (seq !== undefined && seq === c.group?.rollout?.seq) c.ackedSeq = seq;
    c.inflight.delete(typeUrl);
    this.#checkLater(c);
  }

  nack(info: StreamInfo, nack: NackInfo): void {
    const c = this.#client(info);
    const rollout = c.group?.rollout;
    if (rollout && c.inflight.get(nack.typeUrl) === rollout.seq && rollout.nacks.length < maxListed) {
      rollout.nacks.push({
        node: info.node ? describeNode(info.node) : info.peer,
        type: findResourceType(nack.typeUrl)?.short ?? nack.typeUrl,
        message: nack.message,
      });
    }
    c.inflight.delete(nack.typeUrl);
    this.#checkLater(c);
  }

  // ---- bookkeeping ---------------------------------------------------------------------------------------------

  /** A client's state, created on its first event; a closed stream's late event gets a throwaway one. */
  #client(info: StreamInfo): ClientState {
    let c = this.#clients.get(info);
    if (c) return c;
    c = { info, rest: info.protocol === "rest", inflight: new Map(), lastRequestSeq: this.#seq, ackedSeq: 0 };
    if (!this.#closed.has(info)) this.#clients.set(info, c);
    return c;
  }

  /** Keeps a client in the group of its current node key. */
  #follow(c: ClientState): void {
    const key = c.info.nodeKey;
    if (this.#closed.has(c.info) || key === undefined || c.group?.key === key) return;
    this.#leave(c);
    let group = this.#groups.get(key);
    if (!group) this.#groups.set(key, (group = { key, snapshot: this.#options.cache?.snapshotFor(key), members: new Set() }));
    group.members.add(c);
    c.group = group;
  }

  #leave(c: ClientState): void {
    const group = c.group;
    if (!group) return;
    c.group = undefined;
    group.members.delete(c);
    const rollout = group.rollout;
    if (rollout?.pending.delete(c) && rollout.pending.size === 0) this.#finish(group, rollout.settled > 0 ? this.#endOf(rollout) : "disconnected");
    if (group.members.size === 0) {
      if (group.rollout) this.#finish(group, "disconnected");
      this.#groups.delete(group.key);
    }
  }

  /** The cache changed what it serves: every group whose snapshot is another one starts a rollout. */
  #published(): void {
    const cache = this.#options.cache;
    if (!cache) return;
    let started = false;
    for (const group of this.#groups.values()) {
      const snapshot = cache.snapshotFor(group.key);
      if (snapshot === group.snapshot) continue;
      group.snapshot = snapshot;
      if (group.rollout) this.#finish(group, "superseded");
      if (!snapshot) continue; // nothing will be sent: nothing to converge to
      const pending = new Set<ClientState>();
      let settled = 0;
      for (const c of group.members) {
        if (c.rest && holdsVersionOf(c, snapshot)) settled++;
        else pending.add(c);
      }
      group.rollout = { seq: ++this.#seq, startedAt: this.#now(), pending, awaitingPushes: true, settled, acked: 0, nacks: [] };
      this.#open++;
      started = true;
      for (const o of this.#observers) o.started?.(this.#seq, group.key, pending.size + settled);
    }
    // After the watchers are told (the cache calls this first) and the first pushes have had their turn.
    if (started) this.#sweepSoon();
  }

  #sweepSoon(): void {
    this.#cancelSweep ??= this.#schedule(() => {
      this.#cancelSweep = undefined;
      this.#sweep();
    }, sweepMs);
  }

  /** Once the push queue is empty, every gRPC stream of a waiting rollout has pushed: settle those with nothing in flight. */
  #sweep(): void {
    if ((this.#options.pendingPushes?.() ?? 0) > 0) {
      this.#sweepSoon();
      return;
    }
    for (const group of [...this.#groups.values()]) {
      const rollout = group.rollout;
      if (!rollout?.awaitingPushes) continue;
      rollout.awaitingPushes = false;
      for (const c of [...rollout.pending]) this.#settle(c);
      // Every client was settled at the publish (REST pollers the change does not concern).
      if (rollout.pending.size === 0) this.#finish(group, this.#endOf(rollout));
    }
  }

  /** After the event being handled: an ACK is often followed, in the same call, by the next response. */
  #checkLater(c: ClientState): void {
    if (!c.group?.rollout?.pending.has(c)) return;
    this.#toCheck.add(c);
    if (this.#checkQueued) return;
    this.#checkQueued = true;
    queueMicrotask(() => {
      this.#checkQueued = false;
      const list = [...this.#toCheck];
      this.#toCheck.clear();
      for (const c of list) this.#settle(c);
    });
  }

  #settle(c: ClientState): void {
    const group = c.group;
    const rollout = group?.rollout;
    if (!group || !rollout?.pending.has(c) || c.inflight.size > 0) return;
    if (c.rest ? c.lastRequestSeq < rollout.seq : rollout.awaitingPushes) return;
    rollout.pending.delete(c);
    rollout.settled++;
    if (c.ackedSeq === rollout.seq) rollout.acked++;
    for (const o of this.#observers) o.settled?.(rollout.seq, group.key, c.ackedSeq === rollout.seq);
    if (rollout.pending.size === 0) this.#finish(group, this.#endOf(rollout));
  }

  #endOf(rollout: Rollout): RolloutResult {
    return rollout.nacks.length > 0 ? "nacked" : "acked";
  }

  #finish(group: GroupState, result: RolloutResult): void {
    const rollout = group.rollout;
    if (!rollout) return;
    group.rollout = undefined;
    this.#open--;
    this.#options.onFinish?.(result, (this.#now() - rollout.startedAt) / 1000);
    for (const o of this.#observers) o.finished?.(rollout.seq, group.key, result);
    for (const w of this.#waiters) {
      if (!w.keys.has(group.key) || rollout.seq <= w.after || result === "superseded") continue;
      w.outcome.settled += rollout.settled;
      w.outcome.acked += rollout.acked;
      for (const n of rollout.nacks) if (w.outcome.nacked.length < maxListed) w.outcome.nacked.push(n);
      if (result === "nacked") w.outcome.complete = false;
    }
    this.#checkWaitersLater();
  }

  /**
   * After the event: a superseded rollout is followed, in the same publish, by the group's next one. A group is
   * done for a waiter once it has no rollout carrying the publish waited for.
   */
  #checkWaitersLater(): void {
    if (this.#waitersCheckQueued || this.#waiters.size === 0) return;
    this.#waitersCheckQueued = true;
    queueMicrotask(() => {
      this.#waitersCheckQueued = false;
      for (const w of [...this.#waiters]) {
        for (const key of [...w.keys]) {
          const rollout = this.#groups.get(key)?.rollout;
          if (!rollout || rollout.seq <= w.after) w.keys.delete(key);
        }
        if (w.keys.size > 0) continue;
        this.#waiters.delete(w);
        w.done(w.outcome);
      }
    });
  }
}

function unrefTimeout(run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** A REST poller that holds, or was last sent, what its subscription covers in `snapshot`: it has nothing to take. */
function holdsVersionOf(c: ClientState, snapshot: Snapshot): boolean {
  const polled = c.info.polled;
  if (!polled || c.polledVersion === undefined) return false;
  const { typeUrl, subscription } = polled;
  return c.polledVersion === subscribedVersion(snapshot, typeUrl, subscription, subscribedResources(snapshot, typeUrl, subscription));
}
