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

export class UnlocatedSource implements DocumentSource {
  readonly syntaxIssues: readonly ConfigIssue[] = [];

  private constructor(
    readonly file: string,
    readonly value: unknown,
  ) {}

  /** The document, or undefined when the fast reader cannot or should not read it. */
  static read(text: string, file: string, limits: Partial<ConfigLimits> = {}): UnlocatedSource | undefined {
    const { maxBytes, maxDepth } = { ...defaultConfigLimits, ...limits };
    const body = text.replace(/^\uFEFF/, "");
    if (Buffer.byteLength(text) > maxBytes || positionedOnly.test(body)) return undefined;
    try {
      // CORE_SCHEMA: YAML 1.2's core types only, as the positioned reader resolves them (no timestamps, no !!set).
      // maxDepth is js-yaml's own nesting limit (its default is 100), counted its own way: one level stricter
      // than ours, so that whatever it accepts the positioned reader accepts too; deeper goes to the positioned one.
      const options = { schema: jsyaml.CORE_SCHEMA, filename: file, maxDepth: maxDepth - 1 } as jsyaml.LoadOptions;
      return new UnlocatedSource(file, jsyaml.load(body, options));
    } catch {
      return undefined;
    }
  }

  locate(path: Path): SourceLocation {
    return path.length > 0 ? { file: this.file, path: formatPath(path) } : { file: this.file };
  }

  locateKey(path: Path): SourceLocation {
    return this.locate(path);
  }
}
