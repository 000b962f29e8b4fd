// xdsd's one duration grammar: whole seconds with up to nine decimals, then "s" ("30s", "0.25s") — protobuf's JSON
// Duration as Envoy's config writes it, unsigned. The config schema's `duration` definition holds the same pattern
// (test/unit/config-model-schema.test.ts ties them); the API's `ttl` and `timeout=`, the CLI's `--timeout` and
// schema/openapi.json read it from here.

/** The pattern, as JSON Schema and OpenAPI write it. */
export const durationPattern = "^[0-9]+(\\.[0-9]{1,9})?s$";

const duration = new RegExp(durationPattern);

/** What a duration says, in milliseconds (rounded); undefined when the text is not one. */
export function durationMs(text: unknown): number | undefined {
  return typeof text === "string" && duration.test(text) ? Math.round(Number(text.slice(0, -1)) * 1000) : undefined;
}
