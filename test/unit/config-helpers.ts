// Shared by the config-*.test.ts files: building config text with known line numbers, and catching ConfigErrors.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError, type ConfigIssue } from "../../src/errors.js";
import { parseConfig } from "../../src/config/index.js";

/** One config line per argument, so that a test reads line numbers off its own source. */
export function lines(...text: string[]): string {
  return `${text.join("\n")}\n`;
}

/** 1-based column of the first `needle` on 1-based `line` of `text`: where an issue about that token must point. */
export function columnOf(text: string, line: number, needle: string): number {
  const column = text.split("\n")[line - 1].indexOf(needle) + 1;
  if (column === 0) throw new Error(`"${needle}" is not on line ${line}`);
  return column;
}

/** The issues parseConfig reports for `text` (which must be invalid). */
export function issuesOf(text: string, file = "test.yaml"): readonly ConfigIssue[] {
  try {
    parseConfig(text, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.code, "XDSD_CONFIG_INVALID");
    return e.issues;
  }
  assert.fail("expected parseConfig to throw a ConfigError");
}

/** Exactly one issue, at this line, column and path, whose message matches. */
export function assertOneIssue(text: string, line: number, column: number, path: string, message: RegExp): void {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, `expected one issue, got:\n${issues.map((i) => JSON.stringify(i)).join("\n")}`);
  const [issue] = issues;
  assert.deepEqual(issue.location, { file: "test.yaml", line, column, path });
  assert.match(issue.message, message);
}

/** A file of the repository, found from both test/unit (tsx) and dist/test/unit (compiled). */
export function repoFile(relative: string): string {
  let dir = new URL(".", import.meta.url);
  for (let i = 0; i < 5; i++) {
    const candidate = new URL(relative, dir);
    if (existsSync(candidate)) return fileURLToPath(candidate);
    dir = new URL("..", dir);
  }
  throw new Error(`${relative} not found`);
}
