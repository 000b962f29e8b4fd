// A parsed config document that remembers where every value came from, so that each problem found later — by the
// JSON Schema, the semantic checks or protobuf-es — can name the file, line, column and field path to fix.
// YAML and JSON go through the same parser: JSON is (for config purposes) a subset of YAML 1.2, and the YAML
// parser keeps node positions where JSON.parse only reports an offset for the first syntax error. A .json file is
// checked as JSON first (load.ts, json-syntax.ts), so its syntax errors are in JSON's terms.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import type { ConfigIssue, SourceLocation } from "../errors.js";
import { configLimitFlags, defaultConfigLimits, type ConfigLimits } from "./config-limits.js";
import { readYaml } from "./yaml-reader.js";
import { isJsonFile, jsonIssues } from "./json-syntax.js";

/** A position in the document's value tree: map keys and sequence indexes, outermost first. */
export type Path = readonly (string | number)[];

/** A parsed config document and how to point at its parts: what the schema, the checks and the translation read. */
export interface DocumentSource {
  readonly file: string;
  /** The document as plain JSON-like data; undefined when the text has syntax errors. */
  readonly value: unknown;
  readonly syntaxIssues: readonly ConfigIssue[];
  /** Where the value at `path` starts (with line and column when the reader kept positions). */
  locate(path: Path): SourceLocation;
  /** Where the key of the map entry at `path` starts. */
  locateKey(path: Path): SourceLocation;
  /** A source layered over another (the store's objects merged into the file's): the one beneath, the file's. */
  readonly base?: DocumentSource;
}

/** The positioned reader: every value knows its line and column. This is what every error is reported from. */
export class ConfigSource implements DocumentSource {
  readonly file: string;
  /** The document as plain JSON-like data; undefined when the text has syntax errors. */
  readonly value: unknown;
  /** Syntax errors; when there are any, `value` is undefined and nothing else should be checked. */
  readonly syntaxIssues: readonly ConfigIssue[];
  private readonly doc: Document | undefined;
  private readonly lines: LineCounter | undefined;

  constructor(text: string, file: string, limits: Partial<ConfigLimits> = {}) {
    const { maxBytes, maxDepth, maxAliasNodes, maxAliases } = { ...defaultConfigLimits, ...limits };
    this.file = file;
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) {
      // Refused before parsing: the parser's memory grows with the text (a 50 MB file took 4 GB and the process).
      this.syntaxIssues = [{ location: { file }, message: tooLargeMessage(bytes, maxBytes) }];
      return;
    }
    const body = text.replace(/^\uFEFF/, "");
    const read = readYaml(body, { maxDepth, maxAliasNodes, maxAliases });
    this.doc = read.doc;
    this.lines = read.lines;
    let issues = read.issues;
    // A .json file that got here is valid JSON syntax (load.ts checked): what the YAML reader can still refuse is
    // a duplicate key, which JSON's own terms say better, naming where the key first appeared.
    if (isJsonFile(file) && issues.some((i) => i.code === "DUPLICATE_KEY")) {
      const json = jsonIssues(body, maxDepth);
      if (json.length > 0) issues = [...json, ...issues.filter((i) => i.code !== "DUPLICATE_KEY")];
    }
    this.syntaxIssues = issues.map((issue) => ({ location: { file, ...this.position(issue.offset) }, message: issue.message }));
    this.value = read.value;
  }

  /** Where the value at `path` starts. When the path leads nowhere (e.g. a key that is missing), the nearest existing ancestor. */
  locate(path: Path): SourceLocation {
    const node = this.nodeAt(path);
    // An empty document has no node at all; its start is still a useful place to point at.
    const offset = node?.range?.[0] ?? 0;
    return this.at(offset, path);
  }

  /** Where the key of the map entry at `path` starts (for unknown or duplicate keys, the key is what to point at). */
  locateKey(path: Path): SourceLocation {
    const parent = this.nodeAt(path.slice(0, -1));
    const last = path[path.length - 1];
    if (last !== undefined && isMap(parent)) {
      const pair = parent.items.find((p) => isPair(p) && keyMatches(p.key, last));
      const offset = (pair?.key as Node | undefined)?.range?.[0];
      if (offset !== undefined) return this.at(offset, path);
    }
    return this.locate(path);
  }

  private nodeAt(path: Path): Node | undefined {
    const doc = this.doc;
    if (!doc) return undefined;
    let node: unknown = doc.contents;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      let next: unknown;
      if (isMap(node)) {
        next = node.items.find((p) => isPair(p) && keyMatches(p.key, segment))?.value;
      } else if (isSeq(node) && typeof segment === "number") {
        next = node.items[segment];
      }
      if (next === undefined || next === null) return node as Node | undefined;
      node = next;
    }
    return (node as Node | null) ?? undefined;
  }

  private at(offset: number, path: Path): SourceLocation {
    return path.length > 0 ? { file: this.file, ...this.position(offset), path: formatPath(path) } : { file: this.file, ...this.position(offset) };
  }

  private position(offset: number): { line: number; column: number } {
    if (!this.lines) return { line: 1, column: 1 };
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }
}

export function tooLargeMessage(bytes: number, maxBytes: number): string {
  return `the config is ${bytes} bytes, over the limit of ${maxBytes} (${configLimitFlags.maxBytes} raises it); it was not parsed`;
}

function keyMatches(key: unknown, segment: string | number): boolean {
  const k = isScalar(key) ? key.value : key;
  return String(k) === String(segment);
}

/** `["clusters", 0, "endpoints", 1, "port"]` -> `clusters[0].endpoints[1].port`; odd keys are quoted: `nodes["a/b"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The path that formatPath wrote (its inverse, e.g. for a field path an API answer gave); undefined for other text. */
export function parsePath(text: string): Path | undefined {
  const segment = /\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  const out: (string | number)[] = [];
  while (segment.lastIndex < text.length) {
    const at = segment.lastIndex;
    const m = segment.exec(text);
    // A name follows a dot, but for the first segment.
    if (!m || (m[1] !== undefined && (text[at] === ".") !== at > 0)) return undefined;
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]!) as string)));
  }
  return out;
}

/** JSON pointer (as in ajv's instancePath) -> path. Numeric segments become indexes only where the data is an array. */
export function pathFromPointer(pointer: string, data: unknown): Path {
  if (pointer === "") return [];
  const path: (string | number)[] = [];
  let cursor: unknown = data;
  for (const raw of pointer.slice(1).split("/")) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cursor)) {
      const index = Number(segment);
      path.push(index);
      cursor = cursor[index];
    } else {
      path.push(segment);
      cursor = cursor !== null && typeof cursor === "object" ? (cursor as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}
