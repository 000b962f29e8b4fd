// Raw Envoy resources (`resources:`) are decoded exactly as Envoy decodes its YAML: proto3 JSON with `@type`
// naming the message, unknown fields rejected, Any fields resolved through the full Envoy type registry.
// protobuf-es says what is wrong but not where inside the resource, and stops at the first problem; when decoding
// fails we decode the parts again one by one to find every field that fails on its own, at its deepest, and point
// at each (issue 18, item 16: a misspelt key must not hide a bad value next to it).
import { ttlMsOf } from "./model.js";
import { fromJson, type DescField, type DescMessage, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import type { ConfigIssue } from "../errors.js";
import { envoyRegistry } from "../resource/proto-registry.js";
import { messageNameOf, simpleNameOf } from "../resource/type-urls.js";
import { resourceType, resourceTypes } from "../resource/types.js";
import type { DocumentSource, Path } from "./source.js";
import { closest } from "./suggest.js";

export interface RawResource {
  typeUrl: string;
  name: string;
  message: Message;
  /** Path of the resource in the document. */
  path: Path;
  /** The resource as written (without `@type`), to map field paths back to the document. */
  json: Record<string, JsonValue>;
  /** xdsd's own `ttl` key beside `@type` (no registered type has a field of that name), in milliseconds. */
  ttlMs?: number;
}

/** The types a raw resource may have: those of the registry. */
const resourceTypeUrls: ReadonlySet<string> = new Set(resourceTypes.map((t) => t.typeUrl));

export function decodeRawResource(source: DocumentSource, value: Record<string, unknown>, path: Path): RawResource | ConfigIssue[] {
  const registry = envoyRegistry();
  const typeUrl = value["@type"] as string;
  const typePath = [...path, "@type"];
  if (!resourceTypeUrls.has(typeUrl)) {
    return [{ location: source.locate(typePath), message: unknownTypeMessage(typeUrl, registry) }];
  }
  const desc = registry.getMessage(messageNameOf(typeUrl));
  if (!desc) throw new Error(`the Envoy registry lacks ${typeUrl}`);
  const json: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) if (k !== "@type" && k !== "ttl") json[k] = v as JsonValue;
  let message: Message;
  try {
    message = fromJson(desc, json, { registry });
  } catch {
    return failureIssues(source, path, decodeFailures(desc, json, registry));
  }
  const nameField = resourceType(typeUrl).nameField;
  const name = (message as unknown as Record<string, unknown>)[camel(nameField)];
  if (typeof name !== "string" || name === "") {
    return [{ location: source.locate(path), message: `this ${simpleNameOf(typeUrl)} has no ${nameField}; every xDS resource needs a name` }];
  }
  return { typeUrl, name, message, path, json, ttlMs: ttlMsOf(value.ttl as string | undefined) };
}

function unknownTypeMessage(typeUrl: string, registry: Registry): string {
  if (!typeUrl.startsWith("type.googleapis.com/")) {
    return `"@type" must be a type URL, like "type.googleapis.com/envoy.config.cluster.v3.Cluster"`;
  }
  const expected = `expected one of: ${[...resourceTypeUrls].map(simpleNameOf).join(", ")}`;
  if (typeUrl.includes("envoy.api.v2.")) return `"${typeUrl}" is an Envoy v2 type; Envoy and xdsd only speak v3 (${expected})`;
  const guess = closest(typeUrl, [...resourceTypeUrls]);
  if (guess) return `unknown resource type "${typeUrl}" (did you mean "${guess}"?)`;
  if (registry.getMessage(messageNameOf(typeUrl))) return `"${typeUrl}" is an Envoy message but not an xDS resource type (${expected})`;
  return `unknown resource type "${typeUrl}" (${expected})`;
}

/** Why `json` does not decode as `desc`, or undefined when it does. */
function decodeError(desc: DescMessage, json: JsonValue, registry: Registry): string | undefined {
  try {
    fromJson(desc, json, { registry });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Decoding failures of the value at `path` as issues, each where it is in the document. */
export function failureIssues(source: DocumentSource, path: Path, failures: readonly DecodeFailure[]): ConfigIssue[] {
  return failures.map((failure) => ({
    // For an unknown key, the key itself is the mistake; elsewhere, the value is.
    location: / key "[^"]*" is unknown$/.test(failure.message) ? source.locateKey([...path, ...failure.path]) : source.locate([...path, ...failure.path]),
    message: failure.message,
  }));
}

/** A part of a resource that does not decode: its path (JSON keys and indexes, as written) and protobuf-es's message. */
export interface DecodeFailure {
  path: Path;
  message: string;
}

/**
 * Every part of `json` that fails to decode as `desc`, each at the innermost value that fails on its own; none when
 * `json` decodes. A problem that spans fields (a oneof set twice) is reported at the object itself.
 */
export function decodeFailures(desc: DescMessage, json: JsonValue, registry: Registry): DecodeFailure[] {
  const whole = decodeError(desc, json, registry);
  if (whole === undefined) return [];
  const here = [{ path: [], message: whole }];
  if (json === null || typeof json !== "object" || Array.isArray(json)) return here;
  if (desc.typeName === "google.protobuf.Any") {
    const inner = typeof json["@type"] === "string" ? registry.getMessage(messageNameOf(json["@type"])) : undefined;
    if (!inner) return [{ path: "@type" in json ? ["@type"] : [], message: whole }];
    const rest: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(json)) if (k !== "@type") rest[k] = v;
    const found = decodeFailures(inner, rest, registry);
    return found.length > 0 ? found : here;
  }
  if (desc.typeName.startsWith("google.protobuf.")) return here;
  const found: DecodeFailure[] = [];
  for (const [key, value] of Object.entries(json)) {
    const alone = decodeError(desc, { [key]: value }, registry);
    if (alone === undefined) continue;
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    const inner = field ? failuresInField(field, value, registry) : [];
    if (inner.length === 0) found.push({ path: [key], message: alone });
    else for (const f of inner) found.push({ path: [key, ...f.path], message: f.message });
  }
  return found.length > 0 ? found : here;
}

function failuresInField(field: DescField, value: JsonValue, registry: Registry): DecodeFailure[] {
  const within = (at: string | number, failures: DecodeFailure[]) => failures.map((f) => ({ path: [at, ...f.path], message: f.message }));
  if (field.fieldKind === "message") return decodeFailures(field.message, value, registry);
  if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
    return value.flatMap((item, i) => within(i, decodeFailures(field.message, item, registry)));
  }
  if (field.fieldKind === "map" && field.mapKind === "message" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => within(k, decodeFailures(field.message, v, registry)));
  }
  return [];
}

/** snake_case proto field name -> the lowerCamelCase property protobuf-es uses (and proto3 JSON accepts). */
export function camel(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Maps a path of proto field names (and indexes) inside a decoded message to the keys the author actually wrote,
 * which may be proto names or JSON names; Any fields are transparent in the JSON form. Stops where the written
 * JSON stops, so the result always names something in the document.
 */
export function writtenPath(json: JsonValue, protoPath: Path): Path {
  const out: (string | number)[] = [];
  let cursor: JsonValue | undefined = json;
  for (const segment of protoPath) {
    if (typeof segment === "number") {
      if (!Array.isArray(cursor) || cursor[segment] === undefined) break;
      out.push(segment);
      cursor = cursor[segment];
      continue;
    }
    if (cursor === null || typeof cursor !== "object" || Array.isArray(cursor)) break;
    const key: string | undefined = segment in cursor ? segment : camel(segment) in cursor ? camel(segment) : undefined;
    if (key === undefined) break;
    out.push(key);
    cursor = cursor[key];
  }
  return out;
}
