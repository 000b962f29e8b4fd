// Who may be served a snapshot: the `identities:` of a node group (docs/config.md), written as exact identities or
// patterns, matched against the identity a client's verified certificate names (server/transport/peer-identity.ts:
// its SPIFFE ID, else its first DNS SAN). The grammar is here alone: the config checks (config/validate.ts) report
// what `identityPatternError` says, and the server matches with what `IdentityMatcher` compiles from the same text.
//
// - A SPIFFE ID (`spiffe://acme.test/edge/a`) matches itself exactly (the SPIFFE ID standard: the path is case
//   sensitive). `*` as the whole last path segment (`spiffe://acme.test/edge/*`) matches any one segment there, and
//   nothing deeper: `edge/a`, not `edge/a/b` — as an X.509 wildcard covers one DNS label.
// - A DNS name (`edge-a.acme.test`) matches itself, in any letter case (RFC 4343); `*` as the whole first label
//   (`*.edge.acme.test`) matches any one label there (RFC 6125 §6.4.3).
// Only `spiffe://` URIs: a client's identity is never another kind of URI, so such an entry could match nobody.

/** The SPIFFE ID standard's characters: trust domain lower case, path segments of letters, digits, `.`, `-`, `_`. */
const spiffeId = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const dnsLabel = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

const expected =
  "expected a SPIFFE ID (spiffe://trust-domain/path, or spiffe://trust-domain/path/* for any last segment) or a DNS name (edge.example.com, or *.example.com for any first label)";

/** Why `text` is not an identity or pattern, or undefined when it is one. */
export function identityPatternError(text: string): string | undefined {
  if (text === "") return `must not be empty; ${expected}`;
  if (text.includes("://")) {
    if (!text.startsWith("spiffe://"))
      return `"${text}" is not a SPIFFE ID: a client's identity is its spiffe:// URI SAN (else its first DNS SAN); ${expected}`;
    const wildcard = text.endsWith("/*");
    const id = wildcard ? text.slice(0, -2) : text;
    if (id.includes("*")) return `"${text}" has "*" where only the whole last path segment may be "*"; ${expected}`;
    if (!spiffeId.test(id)) {
      return `"${text}" is not a SPIFFE ID: a lower-case trust domain, then path segments of letters, digits, ".", "-" or "_" (no empty segment, no trailing "/", no query); ${expected}`;
    }
    if (/\/\.\.?(\/|$)/.test(id.slice("spiffe://".length)))
      return `"${text}" has a "." or ".." path segment, which the SPIFFE ID standard forbids; ${expected}`;
    return undefined;
  }
  const wildcard = text.startsWith("*.");
  const name = wildcard ? text.slice(2) : text;
  if (name.includes("*")) return `"${text}" has "*" where only the whole first label may be "*"; ${expected}`;
  if (name.length > 253 || !name.split(".").every((label) => dnsLabel.test(label))) return `"${text}" is not a DNS name; ${expected}`;
  return undefined;
}

/** A list of identities and patterns, compiled once (per config load) so that a match costs two set lookups. */
export class IdentityMatcher {
  /** SPIFFE IDs as written; DNS names in lower case. */
  readonly #exact = new Set<string>();
  /** For `spiffe://td/a/*`: `spiffe://td/a/`. For `*.b.test`: `.b.test`. */
  readonly #under = new Set<string>();

  /** `patterns` must pass identityPatternError (the config checks see to it); any other entry matches nobody. */
  constructor(readonly patterns: readonly string[]) {
    for (const p of patterns) {
      if (identityPatternError(p) !== undefined) continue;
      const uri = p.includes("://");
      if (uri && p.endsWith("/*")) this.#under.add(p.slice(0, -1));
      else if (!uri && p.startsWith("*.")) this.#under.add(p.slice(1).toLowerCase());
      else this.#exact.add(uri ? p : p.toLowerCase());
    }
  }

  /** Whether `identity` (undefined: the client named none) is one this list lets in. */
  matches(identity: string | undefined): boolean {
    if (identity === undefined || identity === "") return false;
    const scheme = identity.indexOf("://");
    if (scheme >= 0) {
      if (this.#exact.has(identity)) return true;
      const slash = identity.lastIndexOf("/");
      return slash > scheme + 2 && slash < identity.length - 1 && this.#under.has(identity.slice(0, slash + 1));
    }
    const name = identity.toLowerCase();
    if (this.#exact.has(name)) return true;
    const dot = name.indexOf(".");
    return dot > 0 && this.#under.has(name.slice(dot));
  }
}
