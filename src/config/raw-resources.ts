// Raw Envoy resources (`resources:`) are decoded exactly as Envoy decodes its YAML: proto3 JSON with `@type`
// naming the message, unknown fields rejected, Any fields resolved through the full Envoy type registry.
// protobuf-es says what is wrong but not where inside the resource; when decoding fails we decode the parts
// again one by one to find the deepest field that fails on its own, and point there.
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
  } catch (e) {
    const inner = locateDecodeFailure(desc, json, registry);
    const message = (e as Error).message;
    // For an unknown key, the key itself is the mistake; elsewhere, the value is.
    const location = / key "[^"]*" is unknown$/.test(message) ? source.locateKey([...path, ...inner]) : source.locate([...path, ...inner]);
    return [{ location, message }];
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

function succeeds(desc: DescMessage, json: JsonValue, registry: Registry): boolean {
  try {
    fromJson(desc, json, { registry });
    return true;
  } catch {
    return false;
  }
}

/**
 * Path (JSON keys and indexes, as written) of the innermost value that fails to decode. Called only once
 * decoding `json` as `desc` has failed; falls back to the object itself when the problem spans fields (a oneof
 * set twice).
 */
export function locateDecodeFailure(desc: DescMessage, json: JsonValue, registry: Registry): Path {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return [];
  if (desc.typeName === "google.protobuf.Any") {
    const inner = typeof json["@type"] === "string" ? registry.getMessage(messageNameOf(json["@type"])) : undefined;
    if (!inner) return "@type" in json ? ["@type"] : [];
    const rest: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(json)) if (k !== "@type") rest[k] = v;
    return locateDecodeFailure(inner, rest, registry);
  }
  if (desc.typeName.startsWith("google.protobuf.")) return [];
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    if (!field) return [key];
    if (succeeds(desc, { [key]: value }, registry)) continue;
    return [key, ...locateInField(field, value, registry)];
  }
  return [];
}

function locateInField(field: DescField, value: JsonValue, registry: Registry): Path {
  if (field.fieldKind === "message") return locateDecodeFailure(field.message, value, registry);
  if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
    const index = value.findIndex((item) => !succeeds(field.message, item, registry));
    if (index >= 0) return [index, ...locateDecodeFailure(field.message, value[index], registry)];
  }
  if (field.fieldKind === "map" && field.mapKind === "message" && value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!succeeds(field.message, v, registry)) return [k, ...locateDecodeFailure(field.message, v, registry)];
    }
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
