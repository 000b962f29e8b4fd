// Who holds what, and since when: the bookkeeping that turns responses into the benchmark's figures.
//
// A client "holds" a version of a resource from the moment it has ACKed the response that brought it (the
// generator ACKs as soon as it has read a response, so that is when a real proxy would have applied it). From the
// hold changes this derives, without storing every event:
// - initial config: the time each client first holds every resource of step 0 (scenario D's "full config");
// - per tracked step: the time each client first holds, for every resource the step changed, that step's version
//   or a later one (a fast series of changes to one resource may skip a version: a server that coalesces must not
//   be counted as never converging), or no longer holds a removed one;
// - per version: how many clients hold it now (the `/wait?name=&hash=` interface).
// "Every client" means every client started and not lost: a client whose stream dies is counted out (and the
// loss is reported), so one disconnect cannot hang a wait.
import type { FixtureIndex } from "./fixture-index.js";
import { percentile } from "../lib/summary.js";

export interface StepResult {
  step: number;
  /** Clients expected (live when tracking began), reached, lost since. */
  expected: number;
  reached: number;
  lost: number;
  timedOut: boolean;
  createdAt: number;
  /** Absolute times (ms since epoch) across clients: first, median, p99 and last to reach the step. */
  firstAt: number;
  p50At: number;
  p99At: number;
  lastAt: number;
}

export interface InitialResult {
  target: number;
  started: number;
  live: number;
  complete: number;
  lost: number;
  timedOut: boolean;
  /** Last client to hold its full initial config (absolute ms). */
  lastCompleteAt: number;
  /** Per client, from its own connect start to its full config (ms). */
  perClientMs: { p50: number; p99: number; max: number };
}

class StepTracker {
  readonly names: number[];
  readonly targets: number[]; // version id, or -1 for "removed"
  readonly member: Uint8Array;
  readonly reachedBits: Uint8Array;
  readonly reachedNames: Uint16Array;
  readonly at: Float64Array;
  expected = 0;
  reached = 0;
  lost = 0;
  readonly waiters: (() => void)[] = [];

  constructor(
    readonly step: number,
    readonly createdAt: number,
    upserts: [number, number][],
    removes: number[],
    capacity: number,
  ) {
    this.names = [...upserts.map(([n]) => n), ...removes];
    this.targets = [...upserts.map(([, v]) => v), ...removes.map(() => -1)];
    this.member = new Uint8Array(capacity);
    this.reachedBits = new Uint8Array(capacity * this.names.length);
    this.reachedNames = new Uint16Array(capacity);
    this.at = new Float64Array(capacity);
  }

  get done(): boolean {
    return this.reached + this.lost >= this.expected;
  }
}

export class Convergence {
  readonly #index: FixtureIndex;
  readonly #capacity: number;
  readonly #names: number;
  /** held[client * names + nameId] = version id, or -1. */
  readonly #held: Int32Array;
  readonly holders: Int32Array;
  /** Per version: the latest time a client came to hold it. */
  readonly lastHoldAt: Float64Array;
  readonly #live: Uint8Array;
  readonly #initialCount: Int32Array;
  readonly completeAt: Float64Array;
  readonly startedAt: Float64Array;
  started = 0;
  live = 0;
  lost = 0;
  complete = 0; // among live clients
  target = 0;
  readonly #trackers = new Map<number, StepTracker>();
  readonly #trackersByName = new Map<number, StepTracker[]>();
  readonly #initialWaiters: (() => void)[] = [];
  readonly #versionWaiters = new Map<number, (() => void)[]>();

  constructor(index: FixtureIndex, capacity: number) {
    this.#index = index;
    this.#capacity = capacity;
    this.#names = index.nameCount;
    this.#held = new Int32Array(capacity * this.#names).fill(-1);
    this.holders = new Int32Array(index.versionBytes.length);
    this.lastHoldAt = new Float64Array(index.versionBytes.length).fill(NaN);
    this.#live = new Uint8Array(capacity);
    this.#initialCount = new Int32Array(capacity);
    this.completeAt = new Float64Array(capacity).fill(NaN);
    this.startedAt = new Float64Array(capacity).fill(NaN);
  }

  get capacity(): number {
    return this.#capacity;
  }

  held(client: number, nameId: number): number {
    return this.#held[client * this.#names + nameId];
  }

  clientStarted(client: number, at: number): void {
    this.#live[client] = 1;
    this.startedAt[client] = at;
    this.started++;
    this.live++;
  }

  /** The client's stream is gone: it holds nothing any more and is counted out of every pending wait. */
  clientLost(client: number): void {
    if (!this.#live[client]) return;
    this.#live[client] = 0;
    this.live--;
    this.lost++;
    if (!Number.isNaN(this.completeAt[client])) this.complete--;
    const base = client * this.#names;
    for (let n = 0; n < this.#names; n++) {
      const v = this.#held[base + n];
      if (v >= 0) this.holders[v]--;
      this.#held[base + n] = -1;
    }
    for (const t of this.#trackers.values()) {
      if (t.member[client] && t.reachedNames[client] < t.names.length) {
        t.lost++;
        this.#settle(t);
      }
    }
    this.#pokeInitial();
  }

  /** Client `client` now holds version `to` (-1: nothing) of `nameId`, as of `at` (the time of its ACK). */
  set(client: number, nameId: number, to: number, at: number): void {
    const slot = client * this.#names + nameId;
    const from = this.#held[slot];
    if (from === to || !this.#live[client]) return;
    this.#held[slot] = to;
    if (from >= 0) this.holders[from]--;
    if (to >= 0) {
      this.holders[to]++;
      if (!(at <= this.lastHoldAt[to])) this.lastHoldAt[to] = at;
    }

    const initial = this.#index.state0[nameId];
    if (initial >= 0 && (from === initial) !== (to === initial)) {
      const count = (this.#initialCount[client] += to === initial ? 1 : -1);
      if (count === this.#index.state0Count && Number.isNaN(this.completeAt[client])) {
        this.completeAt[client] = at;
        this.complete++;
        this.#pokeInitial();
      }
    }
    const trackers = this.#trackersByName.get(nameId);
    if (trackers) for (const t of trackers) this.#advance(t, client, nameId, to, at);
    const waiters = to >= 0 ? this.#versionWaiters.get(to) : undefined;
    if (waiters && this.holders[to] >= this.live) {
      this.#versionWaiters.delete(to);
      for (const w of waiters) w();
    }
  }

  /** Starts tracking a step before it is applied (the driver calls this just before `POST /step`). */
  track(step: number, at: number): void {
    if (this.#trackers.has(step)) return;
    const upserts = this.#index.stepUpserts[step];
    if (!upserts) throw new Error(`the fixture has no step ${step}`);
    const t = new StepTracker(step, at, upserts, this.#index.stepRemoves[step], this.#capacity);
    this.#trackers.set(step, t);
    for (const n of t.names) {
      let list = this.#trackersByName.get(n);
      if (!list) this.#trackersByName.set(n, (list = []));
      list.push(t);
    }
    for (let c = 0; c < this.#capacity; c++) {
      if (!this.#live[c]) continue;
      t.member[c] = 1;
      t.expected++;
      for (let i = 0; i < t.names.length; i++) this.#advance(t, c, t.names[i], this.held(c, t.names[i]), at);
    }
    this.#settle(t);
  }

  waitStep(step: number, timeoutMs: number): Promise<StepResult> {
    const t = this.#trackers.get(step);
    if (!t) return Promise.reject(new Error(`step ${step} is not tracked (POST /track?step=${step} before applying it)`));
    return new Promise((resolve) => {
      const finish = (timedOut: boolean) => {
        clearTimeout(timer);
        resolve(this.#stepResult(t, timedOut));
        // A finished tracker is no longer needed on the hot path; its result is kept in the closure only.
        if (!timedOut) this.#forget(t);
      };
      const timer = setTimeout(() => {
        const i = t.waiters.indexOf(done);
        if (i >= 0) t.waiters.splice(i, 1);
        finish(true);
      }, timeoutMs);
      const done = () => finish(false);
      if (t.done) done();
      else t.waiters.push(done);
    });
  }

  waitInitial(timeoutMs: number): Promise<InitialResult> {
    return new Promise((resolve) => {
      const finish = (timedOut: boolean) => {
        clearTimeout(timer);
        resolve(this.#initialResult(timedOut));
      };
      const timer = setTimeout(() => {
        const i = this.#initialWaiters.indexOf(done);
        if (i >= 0) this.#initialWaiters.splice(i, 1);
        finish(true);
      }, timeoutMs);
      const done = () => finish(false);
      if (this.#initialDone()) done();
      else this.#initialWaiters.push(done);
    });
  }

  /** Resolves when every live client holds this version; `lastAt` is the latest time one came to hold it. */
  waitVersion(versionId: number, timeoutMs: number): Promise<{ holders: number; live: number; timedOut: boolean; lastAt: number }> {
    return new Promise((resolve) => {
      const finish = (timedOut: boolean) => {
        clearTimeout(timer);
        resolve({ holders: this.holders[versionId], live: this.live, timedOut, lastAt: this.lastHoldAt[versionId] });
      };
      const timer = setTimeout(() => finish(true), timeoutMs);
      if (this.live > 0 && this.holders[versionId] >= this.live) return finish(false);
      let list = this.#versionWaiters.get(versionId);
      if (!list) this.#versionWaiters.set(versionId, (list = []));
      list.push(() => finish(false));
    });
  }

  #advance(t: StepTracker, client: number, nameId: number, to: number, at: number): void {
    if (!t.member[client]) return;
    const i = t.names.indexOf(nameId);
    const bit = client * t.names.length + i;
    if (t.reachedBits[bit]) return;
    const target = t.targets[i];
    const ok = target === -1 ? to === -1 : to === target || (to >= 0 && this.#index.versionStep[to] > t.step);
    if (!ok) return;
    t.reachedBits[bit] = 1;
    if (at > t.at[client]) t.at[client] = at;
    if (++t.reachedNames[client] === t.names.length) {
      t.reached++;
      this.#settle(t);
    }
  }

  #settle(t: StepTracker): void {
    if (!t.done) return;
    for (const w of t.waiters.splice(0)) w();
  }

  #forget(t: StepTracker): void {
    this.#trackers.delete(t.step);
    for (const n of t.names) {
      const list = this.#trackersByName.get(n);
      if (!list) continue;
      const i = list.indexOf(t);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#trackersByName.delete(n);
    }
  }

  #stepResult(t: StepTracker, timedOut: boolean): StepResult {
    const times: number[] = [];
    for (let c = 0; c < this.#capacity; c++) if (t.member[c] && t.reachedNames[c] === t.names.length) times.push(t.at[c]);
    return {
      step: t.step,
      expected: t.expected,
      reached: t.reached,
      lost: t.lost,
      timedOut,
      createdAt: t.createdAt,
      firstAt: times.length ? Math.min(...times) : NaN,
      p50At: percentile(times, 50),
      p99At: percentile(times, 99),
      lastAt: times.length ? Math.max(...times) : NaN,
    };
  }

  #initialDone(): boolean {
    return this.target > 0 && this.started >= this.target && this.live > 0 && this.complete >= this.live;
  }

  #pokeInitial(): void {
    if (this.#initialWaiters.length > 0 && this.#initialDone()) for (const w of this.#initialWaiters.splice(0)) w();
  }

  #initialResult(timedOut: boolean): InitialResult {
    const per: number[] = [];
    let last = NaN;
    for (let c = 0; c < this.#capacity; c++) {
      if (!this.#live[c] || Number.isNaN(this.completeAt[c])) continue;
      per.push(this.completeAt[c] - this.startedAt[c]);
      if (!(this.completeAt[c] <= last)) last = this.completeAt[c];
    }
    return {
      target: this.target,
      started: this.started,
      live: this.live,
      complete: this.complete,
      lost: this.lost,
      timedOut,
      lastCompleteAt: last,
      perClientMs: { p50: percentile(per, 50), p99: percentile(per, 99), max: per.length ? Math.max(...per) : NaN },
    };
  }

  /** Called when the last planned client has been started (an initial wait may now be satisfiable). */
  allStarted(): void {
    this.#pokeInitial();
  }
}
