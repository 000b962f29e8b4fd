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
  if (validate(source.value)) return { issues: [], invalidPaths: [] };
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
