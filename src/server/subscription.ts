// What one stream has asked for of one type in the state-of-the-world protocol: a set of names, or the wildcard.
//
// The legacy wildcard rule (xDS spec, "How the client specifies what resources to return"): for LDS and CDS, a
// stream that has never named any resource (every request so far had an empty `resource_names`) is subscribed to
// everything. Once it has named anything, including "*", an empty list means "nothing". "*" can stand beside
// explicit names. Worked sequence: [] → wildcard; ["*","A"] → wildcard + A; ["A"] → A only; [] → nothing.
// Other types never get the legacy wildcard: gRPC clients send [] to mean "none" (go-control-plane's
// DeactivateLegacyWildcard exists for that reason).

export const wildcardName = "*";

/** What a stream is subscribed to of one type, whatever the protocol: what the shared per-type state reads. */
export interface SubscribedNames {
  readonly wildcard: boolean;
  /** Names subscribed explicitly (a wildcard covers others too). */
  readonly names: ReadonlySet<string>;
  covers(name: string): boolean;
  /** A canonical string for the subscription: streams subscribed alike share what is derived from it. */
  key(): string;
}

export class Subscription implements SubscribedNames {
  #wildcard = false;
  #requested: RequestedNames = noNames;
  #everNamed = false;
  #lastRequested: readonly string[] | undefined;

  constructor(private readonly wildcardByDefault: boolean) {}

  get wildcard(): boolean {
    return this.#wildcard;
  }

  get names(): ReadonlySet<string> {
    return this.#requested.names;
  }

  /**
   * Applies the `resource_names` of a request. Returns whether the subscription changed, and the names that were
   * not covered before (they must be sent even if the client had them earlier: a resubscribe asks for a fresh
   * copy, go-control-plane issue #431).
   */
  update(requested: readonly string[]): { changed: boolean; added: string[] } {
    // Clients repeat their subscription in every ACK, usually in the same order: recognise that cheaply, since a
    // proxy subscribed to thousands of names ACKs every push.
    if (this.#lastRequested !== undefined && sameList(this.#lastRequested, requested)) return { changed: false, added: [] };
    this.#lastRequested = requested;
    const wasWildcard = this.#wildcard;
    const before = this.#requested.names;
    const now = requestedNames(requested);
    const names = now.names;
    if (requested.length > 0) this.#everNamed = true;
    const wildcard = now.explicitWildcard || (this.wildcardByDefault && !this.#everNamed);

    // A name counts as added only if it was not covered before: under a wildcard it already was.
    const added = wasWildcard ? [] : [...names].filter((n) => !before.has(n));
    const changed = wildcard !== wasWildcard || names.size !== before.size || [...names].some((n) => !before.has(n));
    this.#wildcard = wildcard;
    this.#requested = now;
    return { changed, added };
  }

  /** Whether a resource of this name is wanted. */
  covers(name: string): boolean {
    return this.#wildcard || this.#requested.names.has(name);
  }

  /**
   * A canonical string for the subscription, so that streams subscribed alike share what is derived from it (the
   * subscribed resources of a snapshot, their version, the response body). Streams that requested the same list
   * object (see shared-name-lists.ts) get the same string object, so Map lookups with it hash it once.
   */
  key(): string {
    const r = this.#requested;
    if (this.#wildcard) return (r.wildcardKey ??= `*\u0001${sortedNames(r.names)}`);
    return (r.namedKey ??= sortedNames(r.names));
  }
}

/**
 * What is derived from one `resource_names` list. Requests decoded by the node:http2 transport share their lists
 * across streams, so the set and keys built from a list are kept beside it (weakly: they go with the list) and
 * shared too: a thousand proxies subscribed to the same 500 names hold one set, not a thousand.
 */
interface RequestedNames {
  /** Read-only once built: streams share it. */
  readonly names: ReadonlySet<string>;
  readonly explicitWildcard: boolean;
  namedKey?: string;
  wildcardKey?: string;
}

const noNames: RequestedNames = { names: new Set(), explicitWildcard: false };
const derivedFromList = new WeakMap<readonly string[], RequestedNames>();

function requestedNames(requested: readonly string[]): RequestedNames {
  let derived = derivedFromList.get(requested);
  if (!derived) {
    const names = new Set<string>();
    for (const n of requested) if (n !== wildcardName) names.add(n);
    derived = { names, explicitWildcard: requested.includes(wildcardName) };
    derivedFromList.set(requested, derived);
  }
  return derived;
}

function sortedNames(names: ReadonlySet<string>): string {
  return [...names].sort().join("\u0000");
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The incremental protocol's subscription (xDS protocol checklist F.28–F.30): requests carry changes —
 * `resource_names_subscribe` and `resource_names_unsubscribe` — not the whole list. The wildcard is explicit (`*`
 * subscribed) or legacy: a first request with both lists empty on a type that has the legacy wildcard (LDS, CDS).
 * Either way only unsubscribing `*` ends it. Unlike the state-of-the-world rule, subscribing to a name does not: the
 * xDS spec's incremental example ("How the client specifies what resources to return") reads a later subscribe of
 * "A" as "continuing the existing subscription to * and adding a new subscription to A". Envoy relies on it: its
 * on-demand CDS (`envoy.filters.http.on_demand`) over delta ADS subscribes the cluster it lacks on the very CDS
 * stream that began as a legacy wildcard, with no "*" (Envoy 1.40 sends `resource_names_subscribe: ["od_cluster"]`
 * and nothing else; its DeltaSubscriptionState keeps "*" among the names it is subscribed to).
 */
export class DeltaSubscription implements SubscribedNames {
  #wildcard = false;
  #first = true;
  readonly #names = new Set<string>();
  #key: string | undefined;

  constructor(private readonly wildcardByDefault: boolean) {}

  get wildcard(): boolean {
    return this.#wildcard;
  }

  get names(): ReadonlySet<string> {
    return this.#names;
  }

  /**
   * Applies one request's changes. `subscribed`: every name the request subscribed (sent even if the client was
   * sent it before, checklist F.30); `unsubscribed`: names no longer subscribed explicitly (a wildcard may still
   * cover them); `changed`: whether what is covered may have changed.
   */
  update(subscribe: readonly string[], unsubscribe: readonly string[]): { subscribed: string[]; unsubscribed: string[]; changed: boolean } {
    const wasWildcard = this.wildcard;
    if (this.#first) {
      this.#first = false;
      if (subscribe.length === 0 && unsubscribe.length === 0 && this.wildcardByDefault) this.#wildcard = true;
    }
    const subscribed: string[] = [];
    const unsubscribed: string[] = [];
    let changed = false;
    for (const name of subscribe) {
      if (name === wildcardName) {
        this.#wildcard = true;
        continue;
      }
      subscribed.push(name);
      if (!this.#names.has(name)) {
        this.#names.add(name);
        changed = true;
      }
    }
    for (const name of unsubscribe) {
      if (name === wildcardName) {
        this.#wildcard = false;
        continue;
      }
      // A name never subscribed is ignored (checklist F.29: phantom unsubscribes).
      if (this.#names.delete(name)) {
        unsubscribed.push(name);
        changed = true;
      }
    }
    if (this.wildcard !== wasWildcard) changed = true;
    if (changed) this.#key = undefined;
    return { subscribed, unsubscribed, changed };
  }

  covers(name: string): boolean {
    return this.wildcard || this.#names.has(name);
  }

  key(): string {
    return (this.#key ??= (this.wildcard ? "*\u0001" : "") + sortedNames(this.#names));
  }
}
