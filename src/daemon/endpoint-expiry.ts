// Endpoint registrations with a TTL, as service registries do them (Consul's TTL checks, Eureka's leases): an
// endpoint PUT with `ttl: "30s"` is stored with `expires_at` (wall-clock time, so that it survives a restart), each
// PUT of it renews that, and once the time passes without one the endpoint is deleted from the store — through the
// same write as any other (ConfigReloader.write), conditional on the revision that was seen expiring, so a renewal
// that lands first wins. The config never sees `ttl` or `expires_at`: they are the registration's, not the
// endpoint's (merge/registration.ts endpointEntry). Expiry is a once-per-store duty: it sweeps only while this
// daemon leads (leader.ts), so that replicas on one store do not all delete the same lapsed registration.
import { StoreConflictError } from "../errors.js";
import type { Logger } from "../log.js";
import type { StoreOperation } from "../store/store.js";
import type { ConfigReloader } from "./reloader.js";
import { SoleLeader, type Leadership } from "./leader.js";

/** How often expiry times are looked at (at most this late an endpoint is removed). */
const defaultSweepMs = 250;

export interface EndpointExpiryOptions {
  /** Wall clock, ms; tests pass a fake. */
  now?: () => number;
  sweepMs?: number;
  /**
   * Calls `sweep` every `ms` and returns what stops it. Default: an unref'd setInterval; tests pass one they fire by
   * hand (and await the sweep it hands them), so that no test waits on the clock.
   */
  every?: (sweep: () => Promise<number>, ms: number) => () => void;
  /** Sweeps run only while this leads (default: SoleLeader, a daemon alone on its store). */
  leadership?: Leadership;
}

/** Deletes registered endpoints whose TTL ran out. */
export class EndpointExpiry {
  #stop: (() => void) | undefined;
  #unfollow: (() => void) | undefined;
  #sweeping = false;
  readonly #now: () => number;
  readonly #leadership: Leadership;

  constructor(
    private readonly reloader: ConfigReloader,
    private readonly log: Logger,
    private readonly options: EndpointExpiryOptions = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#leadership = options.leadership ?? new SoleLeader();
  }

  /** Sweeps every sweepMs while this daemon leads; stops when it stops leading, starts again when it leads again. */
  start(): void {
    this.#unfollow ??= this.#leadership.onChange((leads) => (leads ? this.#startSweeps() : this.#stopSweeps()));
    if (this.#leadership.isLeader) this.#startSweeps();
  }

  close(): void {
    this.#unfollow?.();
    this.#unfollow = undefined;
    this.#stopSweeps();
  }

  #startSweeps(): void {
    this.#stop ??= (this.options.every ?? unrefInterval)(() => this.sweep(), this.options.sweepMs ?? defaultSweepMs);
  }

  #stopSweeps(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  /** Deletes what has expired by now; resolves with how many endpoints were deleted (none unless leading). Never rejects. */
  async sweep(): Promise<number> {
    if (this.#sweeping || !this.#leadership.isLeader) return 0;
    this.#sweeping = true;
    try {
      const now = this.#now();
      const expired = this.reloader
        .storeObjects()
        .objects.filter((o) => o.kind === "endpoint" && typeof o.value.expires_at === "string" && Date.parse(o.value.expires_at) <= now);
      if (expired.length === 0) return 0;
      const deleteAsSeen = (o: (typeof expired)[number]): StoreOperation => ({ op: "delete", kind: "endpoint", name: o.name, ifRevision: o.revision });
      const deleted: typeof expired = [];
      try {
        await this.reloader.write(expired.map(deleteAsSeen));
        deleted.push(...expired);
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
        // One of them was renewed meanwhile: the others go one by one, each still only as it was seen. The renewed
        // one stays, and is not reported as expired.
        for (const o of expired) {
          try {
            await this.reloader.write([deleteAsSeen(o)]);
            deleted.push(o);
          } catch (e) {
            if (!(e instanceof StoreConflictError)) throw e;
          }
        }
      }
      for (const o of deleted) this.log.info(`endpoint ${o.name} expired: its registration (ttl ${String(o.value.ttl)}) was not renewed`);
      return deleted.length;
    } catch (err) {
      this.log.error(`expiring registered endpoints failed: ${(err as Error).message}`);
      return 0;
    } finally {
      this.#sweeping = false;
    }
  }
}

function unrefInterval(sweep: () => Promise<number>, ms: number): () => void {
  const timer = setInterval(() => void sweep(), ms);
  timer.unref();
  return () => clearInterval(timer);
}
