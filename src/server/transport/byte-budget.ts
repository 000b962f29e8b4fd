// A budget of bytes that incoming data may hold in memory, nested: a connection's budget draws on the transport's,
// so one client can neither hold more than its connection's share nor, with many connections, more than the whole
// server's. Only bytes that wait for the rest of their message are charged: a complete message is handed on at once.
export class ByteBudget {
  #used = 0;

  constructor(
    /** The most this budget may hold. */
    readonly limit: number,
    private readonly parent?: ByteBudget,
  ) {}

  get used(): number {
    return this.#used;
  }

  /** Takes `n` bytes from this budget and every budget above it; false (and nothing taken) if any would overflow. */
  tryTake(n: number): boolean {
    if (this.#used + n > this.limit) return false;
    if (this.parent && !this.parent.tryTake(n)) return false;
    this.#used += n;
    return true;
  }

  give(n: number): void {
    this.#used -= n;
    this.parent?.give(n);
  }

  /** Which budget, this one or one above it, has no room for `n` more bytes: for the error message. */
  exhaustedBy(n: number): ByteBudget | undefined {
    if (this.#used + n > this.limit) return this;
    return this.parent?.exhaustedBy(n);
  }
}
