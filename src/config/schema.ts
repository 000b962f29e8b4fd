// Structural checks with the same JSON Schema that editors use for completion (schema/xdsd-config.schema.json),
// so the editor and xdsd agree on what is valid. ajv reports JSON pointers; DocumentSource turns them back into
// lines and columns. Messages are rewritten for people: the schema's `errorMessage`/`patternErrorMessage`
// (the VS Code JSON extensions, also honoured by yaml-language-server) win over ajv's generic wording.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { ConfigIssue } from "../errors.js";
import { formatPath, pathFromPointer, type DocumentSource, type Path } from "./source.js";
import { closest } from "./suggest.js";

export interface SchemaResult {
  issues: ConfigIssue[];
  /** Paths (formatted) of every value the schema rejected, so that semantic checks can skip broken items. */
  invalidPaths: string[];
}

let validator: ValidateFunction | undefined;

/** The config JSON Schema, as shipped in `schema/` at the package root. */
export function configJsonSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(schemaFile(), "utf8")) as Record<string, unknown>;
}

// The schema lives at the package root, outside the compiled tree; its depth from this module differs between
// src/config (run from source) and dist/src/config, so look upwards for it.
function schemaFile(): string {
  let dir = new URL(".", import.meta.url);
  for (let i = 0; i < 5; i++) {
    const candidate = new URL("schema/xdsd-config.schema.json", dir);
    if (existsSync(candidate)) return fileURLToPath(candidate);
    dir = new URL("..", dir);
  }
  throw new Error(`schema/xdsd-config.schema.json not found above ${import.meta.url}`);
}

function compiled(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strictTypes: false });
    ajv.addVocabulary(["errorMessage", "patternErrorMessage", "markdownDescription"]);
    validator = ajv.compile(configJsonSchema());
  }
  return validator;
}

export function checkSchema(source: DocumentSource): SchemaResult {
  const validate = compiled();
  const unchecked = withoutPassed(source.value);
  if (validate(unchecked)) {
    remember(unchecked);
    return { issues: [], invalidPaths: [] };
  }
  // What is wrong is reported from the whole document, so that the paths are the document's. (Its verdict is the
  // same, see withoutPassed; if it were not, the whole document's would be the one that counts.)
  if (unchecked !== source.value && validate(source.value)) return { issues: [], invalidPaths: [] };
  const issues: ConfigIssue[] = [];
  const invalidPaths: string[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    // A failed oneOf/anyOf reports each branch's failure as well; the parent's message covers them.
    if (/\/(oneOf|anyOf)\/\d+\//.test(error.schemaPath)) continue;
    // "must match then/else schema" only restates the then/else errors reported beside it.
    if (error.keyword === "if") continue;
    const path = pathFromPointer(error.instancePath, source.value);
    const { at, message, onKey } = describe(error, path);
    const location = onKey ? source.locateKey(at) : source.locate(at);
    const key = `${formatPath(at)}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ location, message });
    invalidPaths.push(formatPath(path));
  }
  return { issues, invalidPaths };
}

// A document's list items (clusters, listeners, raw resources) are each checked by their own definition, the same
// at the top level and in every node group, and the lists themselves by nothing else but being arrays: so the
// verdict on a document is the verdict on it without the items that passed before. The daemon's loads share frozen
// entries between loads (unchanged units of the file's text, the store's objects), and their checks cost what
// changed. Only frozen items are remembered: a verdict holds only for content that cannot change.
const itemLists = ["clusters", "listeners", "resources"] as const;
const passed = new Map(itemLists.map((key) => [key, new WeakSet<object>()]));

/** `document` without the items that passed before; the document itself when there are none. */
function withoutPassed(document: unknown): unknown {
  if (!isRecord(document)) return document;
  let out = withoutPassedItems(document);
  if (isRecord(document.nodes)) {
    let nodes: Record<string, unknown> | undefined;
    for (const [key, group] of Object.entries(document.nodes)) {
      const g = isRecord(group) ? withoutPassedItems(group) : group;
      if (g !== group) (nodes ??= { ...document.nodes })[key] = g;
    }
    if (nodes) out = { ...out, nodes };
  }
  return out;
}

function withoutPassedItems(group: Record<string, unknown>): Record<string, unknown> {
  let out = group;
  for (const key of itemLists) {
    const items = group[key];
    if (!Array.isArray(items)) continue;
    const seen = passed.get(key)!;
    const left = items.filter((item) => !(typeof item === "object" && item !== null && seen.has(item)));
    if (left.length < items.length) out = { ...out, [key]: left };
  }
  return out;
}

/** The frozen items of a document the schema passed. */
function remember(document: unknown): void {
  if (!isRecord(document)) return;
  const groups = [document, ...(isRecord(document.nodes) ? Object.values(document.nodes) : [])];
  for (const group of groups) {
    if (!isRecord(group)) continue;
    for (const key of itemLists) {
      const items = group[key];
      if (!Array.isArray(items)) continue;
      const seen = passed.get(key)!;
      for (const item of items) if (typeof item === "object" && item !== null && Object.isFrozen(item)) seen.add(item);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(error: ErrorObject, path: Path): { at: Path; message: string; onKey?: boolean } {
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const known = Object.keys((parent.properties as Record<string, unknown> | undefined) ?? {}).filter((k) => k !== "$schema");
      const guess = closest(key, known);
      const hint = guess ? `did you mean "${guess}"?` : `expected one of: ${known.join(", ")}`;
      return { at: [...path, key], message: `unknown key "${key}" (${hint})`, onKey: true };
    }
    case "required":
      return { at: path, message: `missing required key "${String(params.missingProperty)}"` };
    case "type":
      return { at: path, message: `must be ${article(String(params.type))}, not ${kindOf(error.data)}` };
    case "enum":
      return { at: path, message: `must be one of: ${(params.allowedValues as unknown[]).map(String).join(", ")}` };
    case "pattern":
      return { at: path, message: typeof parent.patternErrorMessage === "string" ? parent.patternErrorMessage : `must match ${String(params.pattern)}` };
    case "minItems":
      return { at: path, message: params.limit === 1 ? "must not be empty" : `must have at least ${String(params.limit)} items` };
    case "minLength":
      return { at: path, message: params.limit === 1 ? "must not be empty" : `must have at least ${String(params.limit)} characters` };
  }
  if (typeof parent.errorMessage === "string") return { at: path, message: parent.errorMessage };
  return { at: path, message: error.message ?? `fails schema rule ${error.keyword}` };
}

function article(type: string): string {
  const names = type
    .split(",")
    .map(
      (t) =>
        ({ object: "a mapping", array: "a list", integer: "an integer", string: "a string", boolean: "true or false", number: "a number", null: "null" })[t] ??
        t,
    );
  return names.join(" or ");
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return String(value);
}
