// Resources with a TTL on the wire (xDS spec, "TTL"): the client drops such a resource when its TTL passes without
// the resource being sent again or refreshed by a heartbeat.
// - Incremental: `Resource.ttl` beside the body; a heartbeat is `Resource{name, version, ttl}` without a body, at
//   the version the client holds (Envoy's delta subscription state refreshes the TTL and changes nothing else).
//   A client that no longer holds it (its TTL lapsed first) refuses the heartbeat, and is sent the resource again
//   (delta-stream.ts).
// - State of the world: a resource is put in a `Resource` wrapper to carry its TTL. The spec allows a body-less
//   heartbeat here too, but Envoy's SotW mux drops such resources before it looks at TTLs
//   (config_subscription/grpc/grpc_mux_impl.cc: heartbeats are filtered out, and only what is left updates the TTL
//   manager), and for LDS/CDS a response without a resource deletes it. So a SotW heartbeat re-sends the resources,
//   with their bodies, at the version the client holds: Envoy sees an update that changes nothing (an unchanged
//   cluster or listener is not re-created) and restarts the TTL.
import { create } from "@bufbuild/protobuf";
import { anyPack, type Any, DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { ResourceSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";

const wrapped = new WeakMap<EncodedResource, Any>();

/** The `Any` a SotW response carries for `r`: its own, or a `Resource` wrapper with its TTL (built once). */
export function sotwAny(r: EncodedResource): Any {
  if (r.ttlMs === undefined) return r.any;
  let any = wrapped.get(r);
  if (!any) wrapped.set(r, (any = anyPack(ResourceSchema, create(ResourceSchema, { name: r.name, resource: r.any, ttl: ttlOf(r.ttlMs) }))));
  return any;
}

/** The `Resource` of a delta response for `r`; a heartbeat leaves the body out. */
export function deltaResource(r: EncodedResource, heartbeat = false): { name: string; version: string; resource?: Any; ttl?: Duration } {
  const ttl = r.ttlMs === undefined ? undefined : ttlOf(r.ttlMs);
  return heartbeat ? { name: r.name, version: r.version, ttl } : { name: r.name, version: r.version, resource: r.any, ttl };
}

export function ttlOf(ms: number): Duration {
  return create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}

/** How often a stream holding resources with these TTLs sends heartbeats: twice per shortest TTL. */
export function heartbeatInterval(ttls: Iterable<number>): number | undefined {
  let min: number | undefined;
  for (const t of ttls) min = min === undefined ? t : Math.min(min, t);
  return min === undefined ? undefined : Math.max(250, Math.floor(min / 2));
}
