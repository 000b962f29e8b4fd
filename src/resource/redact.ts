// Key material is never shown (issue 19 item 3; docs/security.md "Secrets"): a private key served to a proxy over
// SDS is that proxy's to hold, not something for /config, the write API's answers, CSDS, logs or error messages to
// repeat to whoever can read them. Every place that shows a resource or a config entry passes it through
// redactKeyMaterial, and every config error's message through withoutPrivateKeys (errors.ts): the one list of what is
// key material is here.

/** What a value that was key material is shown as. */
export const redactedValue = "[redacted]";

/**
 * The fields that hold key material, wherever they are: in Envoy's resources (proto and JSON names — a Secret's
 * TlsCertificate `private_key` and `password`, its `session_ticket_keys` and `generic_secret`; the same messages
 * inline in a Listener's or Cluster's TLS context) and in xdsd's shorthand (`secrets:` entries' `key_pem`).
 */
const keyMaterialFields: ReadonlySet<string> = new Set([
  "private_key",
  "privateKey",
  "password",
  "session_ticket_keys",
  "sessionTicketKeys",
  "generic_secret",
  "genericSecret",
  "key_pem",
]);

/**
 * A JSON value (a resource as Envoy JSON, a store object, a config entry) with every key-material field's value
 * replaced by `redactedValue`, at any depth. The value itself is not changed; what has nothing to redact is returned
 * as it is.
 */
export function redactKeyMaterial<T>(value: T): T {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const r = redactKeyMaterial(item);
      if (r !== item) (out ??= [...value])[i] = r;
    });
    return (out ?? value) as T;
  }
  if (typeof value !== "object" || value === null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, inner] of Object.entries(value)) {
    const r = keyMaterialFields.has(key) && inner !== undefined && inner !== null ? redactedValue : redactKeyMaterial(inner);
    if (r !== inner) (out ??= { ...(value as Record<string, unknown>) })[key] = r;
  }
  return (out ?? value) as T;
}

/** A PEM private key block (`-----BEGIN EC PRIVATE KEY-----`…), or what is left of one cut short. */
const pemPrivateKey = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

/** A text (a message that may quote a config value) with every PEM private key in it replaced. */
export function withoutPrivateKeys(text: string): string {
  return text.includes("PRIVATE KEY-----") ? text.replace(pemPrivateKey, `-----BEGIN $1PRIVATE KEY----- ${redactedValue}`) : text;
}
