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
  #sortedKey: string | undefined;

  constructor(private readonly wildcardByDefault: boolean) {}

  get wildcard(): boolean {
    return this.#wildcard;
  }

  get names(): ReadonlySet<string> {
    return this.#names;
  }

  /**
   * Applies the `resource_names` of a request and returns the names that were not covered before (they must be
   * sent even if the client had them earlier: a resubscribe asks for a fresh copy, go-control-plane issue #431).
   */
  update(requested: readonly string[]): string[] {
    const wasWildcard = this.#wildcard;
    const names = new Set<string>();
    for (const n of requested) if (n !== wildcardName) names.add(n);
    if (requested.length > 0) this.#everNamed = true;
    const wildcard = requested.includes(wildcardName) || (this.wildcardByDefault && !this.#everNamed);

    // A name counts as added only if it was not covered before: under a wildcard it already was.
    const added = wasWildcard ? [] : [...names].filter((n) => !this.#names.has(n));
    this.#wildcard = wildcard;
    this.#sortedKey = undefined;
    this.#names = names;
    return added;
  }

  /** Whether a resource of this name is wanted. */
  covers(name: string): boolean {
    return this.#wildcard || this.#names.has(name);
  }

  /** A canonical string for the explicit names, so that streams with equal subscriptions share derived values. */
  key(): string {
    if (this.#sortedKey === undefined) this.#sortedKey = [...this.#names].sort().join("\u0000");
    return (this.#wildcard ? "*\u0001" : "") + this.#sortedKey;
  }
}
