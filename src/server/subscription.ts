// What one stream has asked for of one type in the state-of-the-world protocol: a set of names, or the wildcard.
//
// The legacy wildcard rule (xDS spec, "How the client specifies what resources to return"): for LDS and CDS, a
// stream that has never named any resource (every request so far had an empty `resource_names`) is subscribed to
// everything. Once it has named anything, including "*", an empty list means "nothing". "*" can stand beside
// explicit names. Worked sequence: [] → wildcard; ["*","A"] → wildcard + A; ["A"] → A only; [] → nothing.
// Other types never get the legacy wildcard: gRPC clients send [] to mean "none" (go-control-plane's
// DeactivateLegacyWildcard exists for that reason).

export const wildcardName = "*";

export class Subscription {
  #wildcard = false;
  #names = new Set<string>();
  #everNamed = false;
  #key: string | undefined;
  #lastRequested: readonly string[] | undefined;

  constructor(private readonly wildcardByDefault: boolean) {}

  get wildcard(): boolean {
    return this.#wildcard;
  }

  get names(): ReadonlySet<string> {
    return this.#names;
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
    const names = new Set<string>();
    for (const n of requested) if (n !== wildcardName) names.add(n);
    if (requested.length > 0) this.#everNamed = true;
    const wildcard = requested.includes(wildcardName) || (this.wildcardByDefault && !this.#everNamed);

    // A name counts as added only if it was not covered before: under a wildcard it already was.
    const added = wasWildcard ? [] : [...names].filter((n) => !this.#names.has(n));
    const changed = wildcard !== wasWildcard || names.size !== this.#names.size || [...names].some((n) => !this.#names.has(n));
    this.#wildcard = wildcard;
    this.#names = names;
    if (changed) this.#key = undefined;
    return { changed, added };
  }

  /** Whether a resource of this name is wanted. */
  covers(name: string): boolean {
    return this.#wildcard || this.#names.has(name);
  }

  /**
   * A canonical string for the subscription, so that streams subscribed alike share what is derived from it (the
   * subscribed resources of a snapshot, their version, the response body). The same string object is returned
   * until the subscription changes, so that Map lookups with it hash it once.
   */
  key(): string {
    this.#key ??= (this.#wildcard ? "*\u0001" : "") + [...this.#names].sort().join("\u0000");
    return this.#key;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
