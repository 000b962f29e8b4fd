// Spreads a snapshot's fan-out over event-loop turns. Publishing to thousands of streams at once would run every
// stream's push in one synchronous loop, during which no ACK, no new stream and no admin request is served (one
// thread: a long loop stalls everything). Here a turn pushes at most `batchSize` streams and ends once it has run
// `turnMs`; a stream queued twice pushes once, computing from the latest snapshot then (coalescing).
//
// The time bound is also what gets the first proxy its change early: what a push writes leaves the process only
// when the turn ends (node:http2 flushes a session's frames from the event loop), so a turn of 256 pushes held
// every byte of the first one until the 256th was computed (bench/daemon-update.ts, docs/performance.md).
export class PushScheduler {
  readonly #queue = new Set<() => void>();
  #scheduled = false;

  constructor(
    private readonly batchSize = 256,
    private readonly turnMs = 2,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  schedule(push: () => void): void {
    this.#queue.add(push);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  /** Streams waiting for their turn (for metrics). */
  get pending(): number {
    return this.#queue.size;
  }

  #drain(): void {
    const started = this.now();
    let n = 0;
    for (const push of this.#queue) {
      this.#queue.delete(push);
      push();
      if (++n >= this.batchSize || this.now() - started >= this.turnMs) break;
    }
    if (this.#queue.size > 0) setImmediate(() => this.#drain());
    else this.#scheduled = false;
  }
}
