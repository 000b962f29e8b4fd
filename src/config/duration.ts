// xdsd's one duration grammar: whole seconds with up to nine decimals, then "s" ("30s", "0.25s") — protobuf's JSON
// Duration as Envoy's config writes it, unsigned. The config schema's `duration` definition holds the same pattern,
// and its `ttl` is a `duration` (test/unit/config-model-schema.test.ts ties them); the API's `ttl` and `timeout=`,
// the CLI's `--timeout` and schema/openapi.json read it from here. A TTL's range is one rule too (ttlError), for a
// resource's xDS TTL in the config and an endpoint registration's in the write API.

/** The pattern, as JSON Schema and OpenAPI write it. */
export const durationPattern = "^[0-9]+(\\.[0-9]{1,9})?s$";

const duration = new RegExp(durationPattern);

/** What a duration says, in milliseconds (rounded); undefined when the text is not one. */
export function durationMs(text: unknown): number | undefined {
  return typeof text === "string" && duration.test(text) ? Math.round(Number(text.slice(0, -1)) * 1000) : undefined;
}

/**
 * Why `text` is not a TTL, or undefined: a duration of at least one second (and at most `maxSeconds`). Under a
 * second, a TTL would lapse between the heartbeats that refresh it (sent at half the TTL, on timers and streams
 * that take milliseconds), and a registration's would expire before its first renewal.
 */
export function ttlError(text: unknown, maxSeconds?: number): string | undefined {
  const ms = durationMs(text);
  if (ms !== undefined && ms >= 1000 && (maxSeconds === undefined || ms <= maxSeconds * 1000)) return undefined;
  return `must be a duration in seconds from 1s${maxSeconds === undefined ? "" : ` to ${maxSeconds}s`}, like "30s"`;
}
