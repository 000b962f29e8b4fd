// Envoy's NodeMatcher (envoy.type.matcher.v3.NodeMatcher), as CSDS requests use it to pick the clients they ask
// about: the node id by a StringMatcher, and the node's metadata by StructMatchers — every matcher given must match.
// A pattern xdsd cannot evaluate (a `custom` string matcher, a list matcher) matches nothing, and says why.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import type { NodeMatcher } from "../gen/envoy/type/matcher/v3/node_pb.js";
import type { StringMatcher } from "../gen/envoy/type/matcher/v3/string_pb.js";
import type { StructMatcher, StructMatcher_PathSegment } from "../gen/envoy/type/matcher/v3/struct_pb.js";
import type { ValueMatcher } from "../gen/envoy/type/matcher/v3/value_pb.js";

/** Whether `node` matches every matcher of `matcher`. */
export function nodeMatches(matcher: NodeMatcher, node: Node): boolean {
  if (matcher.nodeId && !stringMatches(matcher.nodeId, node.id)) return false;
  return matcher.nodeMetadatas.every((m) => structMatches(m, node.metadata ?? {}));
}

export function stringMatches(m: StringMatcher, value: string): boolean {
  const p = m.matchPattern;
  const v = m.ignoreCase ? value.toLowerCase() : value;
  const want = (s: string) => (m.ignoreCase ? s.toLowerCase() : s);
  switch (p.case) {
    case "exact":
      return v === want(p.value);
    case "prefix":
      return v.startsWith(want(p.value));
    case "suffix":
      return v.endsWith(want(p.value));
    case "contains":
      return v.includes(want(p.value));
    case "safeRegex":
      // RE2 syntax; the patterns CSDS users write (ids, prefixes, alternations) mean the same in JavaScript. A
      // regex must match the whole value (RegexMatcher's rule).
      try {
        return new RegExp(`^(?:${p.value.regex})$`).test(value);
      } catch {
        return false;
      }
    default:
      return false;
  }
}

// protobuf-es gives google.protobuf.Struct as plain JSON: the node's metadata is a JsonObject.
function structMatches(m: StructMatcher, fields: JsonObject): boolean {
  let value: JsonValue | undefined;
  let scope: JsonObject | undefined = fields;
  for (const segment of m.path as StructMatcher_PathSegment[]) {
    if (segment.segment.case !== "key" || !scope) return false;
    value = scope[segment.segment.value];
    scope = value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  }
  return m.value ? valueMatches(m.value, value) : value !== undefined;
}

function valueMatches(m: ValueMatcher, value: JsonValue | undefined): boolean {
  const p = m.matchPattern;
  switch (p.case) {
    case "nullMatch":
      return value === null;
    case "presentMatch":
      return p.value === (value !== undefined);
    case "boolMatch":
      return value === p.value;
    case "stringMatch":
      return typeof value === "string" && stringMatches(p.value, value);
    case "doubleMatch": {
      if (typeof value !== "number") return false;
      const d = p.value.matchPattern;
      if (d.case === "exact") return value === d.value;
      if (d.case === "range") return value >= Number(d.value.start) && value < Number(d.value.end);
      return false;
    }
    case "orMatch":
      return p.value.valueMatchers.some((v) => valueMatches(v, value));
    default:
      return false;
  }
}
