// Endpoint registrations with a TTL, as service registries do them (Consul's TTL checks, Eureka's leases): what a
// registration adds to an endpoint object — `ttl`, and the `expires_at` xdsd stores from it — and what the config
// sees of it (the endpoint alone). The duty that deletes lapsed registrations is the daemon's
// (daemon/endpoint-expiry.ts).
import { durationMs, ttlError } from "../config/duration.js";
import type { ObjectValue } from "../store/store.js";

/** The longest registration TTL: past a day, a registration is not a heartbeat any more. */
const maxTtlSeconds = 86_400;

/** Why a registration's fields are refused, or undefined. */
export function registrationError(value: ObjectValue): string | undefined {
  if ("expires_at" in value) return '"expires_at" is set by xdsd from "ttl", not by the request';
  const ttl = value.ttl;
  if (ttl === undefined) return undefined;
  const error = ttlError(ttl, maxTtlSeconds);
  return error && `"ttl" ${error}`;
}

/** The value to store: with `ttl`, the time it expires at unless renewed. */
export function withRegistration(value: ObjectValue, nowMs: number): ObjectValue {
  if (value.ttl === undefined) return value;
  return { ...value, expires_at: new Date(nowMs + durationMs(value.ttl)!).toISOString() };
}

/** What the config sees of an endpoint object: the endpoint, without its registration's fields. */
export function endpointEntry(value: ObjectValue): ObjectValue {
  if (!("ttl" in value) && !("expires_at" in value)) return value;
  const { ttl: _ttl, expires_at: _expires, ...entry } = value;
  return entry;
}
