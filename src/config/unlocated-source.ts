// The fast reader of config text, for the daemon's reloads: js-yaml, without source positions, about 12 times
// faster than the positioned reader (A's 500-cluster config: 5 ms against 62 ms, most of a reload's CPU). It is
// only ever used for a config that then turns out valid: as soon as anything is wrong — a syntax error, a schema or
// semantic issue, a missing reference — the text is read again by the positioned reader (source.ts), and every
// error is reported from there with file, line and column. So the two readers must agree on every valid document;
// test/unit/config-properties.test.ts checks that they do. Texts using what the readers might treat differently,
// or what the positioned reader bounds (anchors and aliases, tags, directives, several documents), go to the
// positioned reader directly.
import jsyaml from "js-yaml";
import type { ConfigIssue, SourceLocation } from "../errors.js";
import { defaultConfigLimits, type ConfigLimits } from "./config-limits.js";
import { formatPath, type DocumentSource, type Path } from "./source.js";
import { topLevelEntries, unitText, type TopLevelEntry, type YamlUnit } from "./yaml-units.js";

/**
 * Left to the positioned reader: anchors, aliases and merge keys (`<<`), tags, directives, document markers,
 * explicit `?` keys; and the scalars the two libraries resolve differently (found by the property test and in
 * review): `0b…` integers and signed hex or octal (`+0x1F`: a number to js-yaml, a string to `yaml`'s 1.2 core
 * schema), signed fractions without a leading digit (`-.5`: the reverse), exponents of three digits (`1e999`:
 * Infinity against a string), and null or empty keys (`null:` is "null" to js-yaml, "" to `yaml`). A value may
 * follow `:` with no space in JSON-style flow (`{"a":*x}`), so `:` starts a token too.
 */
const positionedOnly =
  /(?:^|[\s,[{:])(?:[&*!][^\s,\]}=]|\?(?:\s|$)|[-+]?0b|[-+]0[xo]|[-+]\.[0-9]|(?:~|null|Null|NULL)?:(?:\s|$))|<<|^%|^(?:---|\.\.\.)(?:\s|$)|\d[eE][-+]?\d{3}/m;

/** The text of the unit an entry's value was read from (yaml-units.ts): a cache key for the entry's content. */
const unitTexts = new WeakMap<object, string>();

/** The text `value` was read from as a unit of the fast reader, if it was. */
export function unitTextOf(value: unknown): string | undefined {
  return typeof value === "object" && value !== null ? unitTexts.get(value) : undefined;
}

/** Where read units are kept between loads: the translation cache's interface (get marks as used, set adds). */
export interface UnitCache {
  get<T>(kind: "yaml", key: string): T | undefined;
  set(kind: "yaml", key: string, value: unknown): void;
}

export class UnlocatedSource implements DocumentSource {
  readonly syntaxIssues: readonly ConfigIssue[] = [];

  private constructor(
    readonly file: string,
    readonly value: unknown,
  ) {}

  /**
   * The document, or undefined when the fast reader cannot or should not read it. With `units`, the text is read
   * unit by unit (yaml-units.ts) and units read by an earlier load are taken from there: their values are frozen
   * and shared between loads.
   */
  static read(text: string, file: string, limits: Partial<ConfigLimits> = {}, units?: UnitCache): UnlocatedSource | undefined {
    const { maxBytes, maxDepth } = { ...defaultConfigLimits, ...limits };
    const body = text.replace(/^\uFEFF/, "");
    if (Buffer.byteLength(text) > maxBytes) return undefined;
    if (units) {
      const entries = topLevelEntries(body);
      const value = entries && readUnits(entries, file, maxDepth, units);
      if (value !== undefined) return new UnlocatedSource(file, value);
    }
    if (positionedOnly.test(body)) return undefined;
    const value = readYaml(body, file, maxDepth);
    return value === failed ? undefined : new UnlocatedSource(file, value);
  }

  /** A document that was read already (plain data): located by field path. */
  static of(file: string, value: unknown): UnlocatedSource {
    return new UnlocatedSource(file, value);
  }

  locate(path: Path): SourceLocation {
    return path.length > 0 ? { file: this.file, path: formatPath(path) } : { file: this.file };
  }

  locateKey(path: Path): SourceLocation {
    return this.locate(path);
  }
}

const failed = Symbol("not read by the fast reader");

// CORE_SCHEMA: YAML 1.2's core types only, as the positioned reader resolves them (no timestamps, no !!set).
// maxDepth is js-yaml's own nesting limit (its default is 100), counted its own way: one level stricter than ours,
// so that whatever it accepts the positioned reader accepts too; deeper goes to the positioned one.
function readYaml(text: string, file: string, maxDepth: number): unknown {
  try {
    return jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, filename: file, maxDepth: maxDepth - 1 } as jsyaml.LoadOptions);
  } catch {
    return failed;
  }
}

/** The document assembled from its units, or undefined if one of them is not for the fast reader. */
function readUnits(entries: TopLevelEntry[], file: string, maxDepth: number, units: UnitCache): Record<string, unknown> | undefined {
  const read = (unit: YamlUnit, depth: number): unknown => {
    const kept = units.get<{ value: unknown }>("yaml", unit.source);
    if (kept) return kept.value;
    const text = unitText(unit);
    if (positionedOnly.test(text)) return failed;
    const value = readYaml(text, file, depth);
    if (value === failed) return failed;
    deepFreeze(value);
    // Kept under a copy of its source: the source is a slice of this load's whole text, which a kept slice would
    // keep alive for as long as the unit stays unchanged.
    const key = ownCopy(unit.source);
    units.set("yaml", key, { value });
    if (typeof value === "object" && value !== null) unitTexts.set(value, key);
    return value;
  };
  const document: Record<string, unknown> = {};
  for (const entry of entries) {
    if (entry.whole) {
      // Read at the top, as in the document: a mapping of exactly this key.
      const unit = read(entry.whole, maxDepth);
      if (typeof unit !== "object" || unit === null || Array.isArray(unit)) return undefined;
      const keys = Object.keys(unit);
      if (keys.length !== 1 || keys[0] !== entry.key) return undefined;
      const value = (unit as Record<string, unknown>)[entry.key];
      // The entry's content key is the unit's (its text determines the value).
      if (typeof value === "object" && value !== null && !unitTexts.has(value)) unitTexts.set(value, unitTexts.get(unit)!);
      document[entry.key] = value;
    } else {
      // Each item is read as a one-item sequence, two levels below the top in the document.
      const values: unknown[] = [];
      for (const item of entry.items!) {
        const unit = read(item, maxDepth - 2);
        if (!Array.isArray(unit) || unit.length !== 1) return undefined;
        const value = unit[0];
        if (typeof value === "object" && value !== null && !unitTexts.has(value)) unitTexts.set(value, unitTexts.get(unit)!);
        values.push(value);
      }
      document[entry.key] = values;
    }
  }
  return document;
}

/** A string with the same characters that shares no memory with `s` (V8 keeps substrings as views). */
function ownCopy(s: string): string {
  return Buffer.from(s, "utf8").toString("utf8");
}

/**
 * Values shared between loads must not change under a later one. A frozen entry is one whose content is known not
 * to change: what is memoized by entry (content keys, the schema's verdicts) is memoized for frozen ones only.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
