// Spreads a snapshot's fan-out over event-loop turns. Publishing to thousands of streams at once would run every
// stream's push in one synchronous loop, during which no ACK, no new stream and no admin request is served (one
// thread: a long loop stalls everything). Here at most `batchSize` streams push per turn; a stream queued twice
// pushes once, computing from the latest snapshot then (coalescing).
export class PushScheduler {
  readonly #queue = new Set<() => void>();
  #scheduled = false;

  constructor(private readonly batchSize = 256) {}

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
    let n = 0;
    for (const push of this.#queue) {
      this.#queue.delete(push);
      push();
      if (++n >= this.batchSize) break;
    }
    if (this.#queue.size > 0) setImmediate(() => this.#drain());
    else this.#scheduled = false;
  }
}
