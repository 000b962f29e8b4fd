// Leader election on etcd for the duties that must run once per store however many replicas share it (issue 20:
// endpoint TTL expiry). The way etcd's own clientv3/concurrency election works, reduced to one candidate key:
//
// - A lease of `ttlSeconds` is granted and renewed every third of its TTL. If etcd hears from this replica for no
//   whole TTL (the process died, or lost etcd), the lease expires and etcd deletes the keys attached to it.
// - The campaign is one transaction: create `<prefix>leader` with this lease only if it does not exist
//   (create_revision 0). The one whose transaction creates it leads; the others watch the key and campaign again
//   when it is deleted (its leader's lease expired or was revoked).
// - A leader steps down — stops its duties at once — when etcd says the lease is gone, when the key is gone or
//   another's, and when no renewal has been confirmed for two thirds of the TTL: the lease may expire a third of a
//   TTL later at the earliest (etcd counts the TTL from a renewal it received, after this replica sent it), and
//   another replica may then lead, so this one stops first.
// - close() revokes the lease: the key goes at once and another replica takes over without waiting for the TTL.
//
// It has the shape of daemon/leader.ts's Leadership (isLeader, onChange) without importing it (store/ imports no
// other layer).
import type { Logger } from "../log.js";
import { StoreUnavailableError } from "../errors.js";
import { isUnanswered, type EtcdClient, type KeyValue, type WatchResponse } from "./etcd-client.js";

export interface EtcdElectionOptions {
  /** The lease's TTL in seconds (etcd's unit): how long a dead leader's duties wait for another replica. */
  ttlSeconds: number;
  /** The leader key's value: who leads, for an operator (`etcdctl get <prefix>leader`). */
  candidate: string;
  log?: Logger;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One term: a lease held, until it is lost or the election closes. */
interface Term {
  readonly lease: string;
  readonly ended: AbortController;
  /** When the last renewal etcd confirmed was sent (the lease lasts at least its TTL from then). */
  confirmedAt: number;
  renewals?: NodeJS.Timeout;
}

export class EtcdElection {
  readonly #client: EtcdClient;
  readonly #key: Buffer;
  readonly #options: EtcdElectionOptions;
  #leader = false;
  #closed = false;
  #term: Term | undefined;
  #running: Promise<void> | undefined;
  readonly #listeners = new Set<(isLeader: boolean) => void>();

  constructor(client: EtcdClient, prefix: string, options: EtcdElectionOptions) {
    if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds < 1) throw new TypeError("the lease TTL must be a whole number of seconds ≥ 1");
    this.#client = client;
    this.#key = Buffer.from(`${prefix}leader`);
    this.#options = options;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** The key whose holder leads. */
  get key(): string {
    return this.#key.toString();
  }

  onChange(listener: (isLeader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Campaigns until closed: leads when it can, follows otherwise, and tries again after etcd comes back. */
  start(): void {
    // A bug of ours must not end the process (an unhandled rejection) nor leave it leading: it stops campaigning.
    this.#running ??= this.#run().catch((err: unknown) => {
      this.#options.log?.error(`leader election stopped, this replica will not lead: ${(err as Error).stack ?? String(err)}`);
      this.#endTerm();
    });
  }

  /** Steps down and revokes the lease (within `timeoutMs`), so that another replica leads at once. */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const term = this.#term;
    this.#endTerm();
    await this.#running;
    if (term && !this.#client.closed) {
      try {
        await this.#client.leaseRevoke(term.lease, timeoutMs);
      } catch (err) {
        this.#options.log?.warn(`could not revoke the leader election's lease (another replica leads once it expires): ${(err as Error).message}`);
      }
    }
  }

  async #run(): Promise<void> {
    for (let failures = 0; !this.#closed; ) {
      try {
        const term = this.#term ?? (await this.#newTerm());
        if (this.#closed) return;
        const leads = await this.#campaign(term);
        failures = 0;
        // The lease lost while the campaign was under way: won or not, it must not lead on it.
        if (term.ended.signal.aborted) continue;
        this.#set(leads.leads);
        // Until the key changes hands (or the term ends): then campaign again.
        await this.#watchKey(term, leads.revision);
      } catch (err) {
        if (this.#closed) return;
        if (!(err instanceof StoreUnavailableError)) throw err;
        // The store closed under it (the daemon stopping): nothing to campaign with; the lease lapses.
        if (this.#client.closed) return this.#endTerm();
        // Leading goes on only while the lease is confirmed (#renew), not while a campaign fails.
        if (!isUnanswered(err)) this.#options.log?.warn(`leader election: ${err.message}`);
        await sleep(Math.min(200 * 2 ** failures++, 2_000));
      }
    }
  }

  async #newTerm(): Promise<Term> {
    const sentAt = Date.now();
    const grant = await this.#client.leaseGrant(this.#options.ttlSeconds);
    const term: Term = { lease: grant.ID, ended: new AbortController(), confirmedAt: sentAt };
    if (this.#closed) {
      await this.#client.leaseRevoke(grant.ID).catch(() => {});
      return term;
    }
    this.#term = term;
    // etcd may grant more than asked (its minimum TTL is 1.5 election timeouts), never less.
    const ttlMs = Math.max(this.#options.ttlSeconds, Number(grant.TTL)) * 1000;
    const every = ttlMs / 3;
    const renew = async () => {
      if (term.ended.signal.aborted) return;
      // Past two thirds of the TTL with nothing confirmed, the lease may be gone soon: stop leading now.
      if (Date.now() - term.confirmedAt >= (2 * ttlMs) / 3) return this.#lost(term, `no renewal of its lease confirmed for ${Math.round((2 * ttlMs) / 3)} ms`);
      const sent = Date.now();
      try {
        const left = await this.#client.leaseKeepAlive(term.lease, Math.min(every, term.confirmedAt + (2 * ttlMs) / 3 - sent));
        if (left <= 0) return this.#lost(term, "etcd says its lease is gone (expired or revoked)");
        term.confirmedAt = Math.max(term.confirmedAt, sent);
      } catch (err) {
        // Not confirmed: the check below steps down in time. Anything but etcd not answering is worth saying.
        if (!(err instanceof StoreUnavailableError)) this.#options.log?.error(`renewing the leader lease failed: ${(err as Error).stack ?? String(err)}`);
      }
      if (Date.now() - term.confirmedAt >= (2 * ttlMs) / 3) return this.#lost(term, `no renewal of its lease confirmed for ${Math.round((2 * ttlMs) / 3)} ms`);
      if (!term.ended.signal.aborted) term.renewals = setTimeout(() => void renew(), Math.max(0, every - (Date.now() - sent)));
    };
    term.renewals = setTimeout(() => void renew(), every);
    return term;
  }

  /** The lease is lost (or may be): stop leading, and start a new term with a new lease. */
  #lost(term: Term, why: string): void {
    if (this.#term !== term) return;
    if (this.#leader) this.#options.log?.warn(`stepping down as the leader: ${why}`);
    this.#endTerm();
  }

  #endTerm(): void {
    const term = this.#term;
    this.#term = undefined;
    if (term) {
      clearTimeout(term.renewals);
      term.ended.abort();
    }
    this.#set(false);
  }

  /** The key created with this term's lease if absent: leads if it was (or already is) this term's. */
  async #campaign(term: Term): Promise<{ leads: boolean; revision: number }> {
    const res = await this.#client.txn({
      compare: [{ result: 0, target: 1, key: this.#key, create_revision: 0 }],
      success: [{ request_put: { key: this.#key, value: Buffer.from(this.#options.candidate), lease: term.lease } }],
      failure: [{ request_range: { key: this.#key } }],
    });
    if (res.succeeded) return { leads: true, revision: Number(res.header.revision) };
    const holder: KeyValue | undefined = res.responses[0]?.response_range?.kvs[0];
    // Ours already: a campaign whose answer was lost, resent by the client.
    return { leads: holder?.lease === term.lease, revision: Number(res.header.revision) };
  }

  /** Resolves when the key is deleted or changes hands after `revision`, the term ends, or the watch breaks. */
  async #watchKey(term: Term, revision: number): Promise<void> {
    if (term.ended.signal.aborted) return;
    const { stream, member } = this.#client.openWatch();
    const outcome = await new Promise<"changed" | "ended" | "broken">((resolve) => {
      const ended = () => resolve("ended");
      term.ended.signal.addEventListener("abort", ended, { once: true });
      stream.on("data", (res: WatchResponse) => {
        if (res.created) this.#client.answered();
        if (res.canceled || Number(res.compact_revision) > 0) return resolve("broken");
        for (const event of res.events) {
          // A deletion frees the key; a put by another term means it is not (or no longer) this replica's.
          if (event.type === 1 || event.kv.lease !== term.lease) return resolve("changed");
        }
      });
      stream.on("error", () => resolve("broken"));
      stream.on("end", () => resolve("broken"));
      stream.write({ create_request: { key: this.#key, range_end: Buffer.alloc(0), start_revision: revision + 1, progress_notify: false } });
    }).finally(() => {
      stream.removeAllListeners("data");
      stream.on("error", () => {});
      stream.cancel();
    });
    if (outcome === "changed" && this.#leader) {
      this.#options.log?.warn(`stepping down as the leader: ${this.key} was deleted or taken by another lease`);
      this.#set(false);
    }
    if (outcome === "broken") {
      this.#client.failed(member);
      await sleep(200);
    }
  }

  #set(leads: boolean): void {
    if (leads === this.#leader) return;
    this.#leader = leads;
    this.#options.log?.info(leads ? `leading (${this.key} holds this replica's lease): once-only duties run here` : "not leading");
    for (const listener of this.#listeners) listener(leads);
  }
}
