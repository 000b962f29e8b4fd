// A resource encoded once: the protobuf bytes of the message, wrapped in the `Any` every response carries, and a
// version derived from those bytes. Every stream that needs this resource at this content gets these same bytes.
import { createHash } from "node:crypto";
import { create, fromBinary, toBinary, type Message } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { resourceType, type ResourceReference } from "./types.js";
import { BadArgumentError, UnnamedResourceError } from "../errors.js";

export interface EncodedResource {
  readonly typeUrl: string;
  readonly name: string;
  /**
   * A hash of the encoded bytes. Content-addressed rather than a counter so that it is stable across restarts and
   * across node groups: a client that reconnects with a version it already has is not sent the same bytes again.
   */
  readonly version: string;
  readonly message: Message;
  readonly any: Any;
  readonly references: readonly ResourceReference[];
  /** Served on demand only: never under a wildcard subscription (ResourceType.onDemandOf). */
  readonly onDemand: boolean;
  /**
   * The client drops the resource this long after it last received it, unless it is sent again or refreshed by a
   * heartbeat (xDS spec, "TTL"): what keeps config from outliving its control plane. Part of the version, since a
   * changed TTL must reach clients.
   */
  readonly ttlMs?: number;
}

/**
 * `resource` with a TTL (whole milliseconds, at least 1 s: Envoy's TTL timers work in milliseconds, but a TTL
 * shorter than a round trip would expire between heartbeats).
 */
export function withTtl(resource: Message | EncodedResource, ttlMs: number): EncodedResource {
  if (!Number.isInteger(ttlMs) || ttlMs < 1000)
    throw new BadArgumentError(`a resource TTL must be a whole number of milliseconds of at least 1000, got ${ttlMs}`);
  const encoded = isEncodedResource(resource) ? resource : encodeResource(resource);
  const baseVersion = encoded.ttlMs === undefined ? encoded.version : encoded.version.slice(0, encoded.version.lastIndexOf("."));
  const { typeUrl, name, any, references, onDemand } = encoded;
  return {
    typeUrl,
    name,
    any,
    references,
    onDemand,
    version: `${baseVersion}.${ttlMs}`,
    ttlMs,
    // A getter, not a copy: a resource that came from the config worker decodes its message only if asked.
    get message() {
      return encoded.message;
    },
  };
}

export function isEncodedResource(r: Message | EncodedResource): r is EncodedResource {
  return "any" in r && "version" in r && "references" in r && !("$typeName" in r);
}

export function typeUrlOf(message: Message): string {
  return `type.googleapis.com/${message.$typeName}`;
}

/**
 * Encodings by message object. An application that keeps its resources as messages and rebuilds a snapshot from
 * all of them on every change (the natural way to write it) then pays for encoding the changed ones only. The
 * contract this relies on, as with go-control-plane's snapshots: a message handed to a snapshot is not mutated
 * afterwards; a changed resource is a new message (`create`, `clone`).
 */
const encodedByMessage = new WeakMap<Message, EncodedResource>();

export function encodeResource(message: Message): EncodedResource {
  let encoded = encodedByMessage.get(message);
  if (!encoded) encodedByMessage.set(message, (encoded = encode(message)));
  return encoded;
}

function encode(message: Message): EncodedResource {
  const typeUrl = typeUrlOf(message);
  const type = resourceType(typeUrl);
  const name = type.nameOf(message);
  if (!name) throw new UnnamedResourceError(typeUrl);
  const value = toBinary(type.schema, message);
  return {
    typeUrl,
    name,
    version: contentHash(value),
    message,
    any: create(AnySchema, { typeUrl, value }),
    references: uniqueReferences(type.referencesOf(message)),
    onDemand: type.onDemandOf?.(message) ?? false,
  };
}

/** What a resource references, each (type, name) once: a listener may name one route configuration twice. */
function uniqueReferences(located: readonly ResourceReference[]): ResourceReference[] {
  const seen = new Set<string>();
  const out: ResourceReference[] = [];
  for (const { typeUrl, name } of located) {
    const key = `${typeUrl}\u0000${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ typeUrl, name });
  }
  return out;
}

/**
 * A resource encoded elsewhere (the config worker thread): its bytes, version and references as that side computed
 * them. The message is decoded from the bytes only when something asks for it (the admin API's JSON view), so that
 * taking over a large config costs the main thread no decoding.
 */
export function encodedResourceFromBytes(
  typeUrl: string,
  name: string,
  version: string,
  value: Uint8Array,
  references: readonly ResourceReference[],
  onDemand = false,
  ttlMs?: number,
): EncodedResource {
  const type = resourceType(typeUrl);
  let message: Message | undefined;
  return {
    typeUrl,
    name,
    version,
    references,
    onDemand,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    any: create(AnySchema, { typeUrl, value }),
    get message() {
      return (message ??= fromBinary(type.schema, value));
    },
  };
}

/** 64 bits of SHA-256, base64url: short enough for logs, long enough that a collision is not a concern. */
export function contentHash(...parts: (Uint8Array | string)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("base64url").slice(0, 11);
}
