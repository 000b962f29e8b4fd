// A .json config's syntax errors in JSON's terms (config/json-syntax.ts), each naming where the scan stopped and
// where the object, array or string it was in began — not YAML's words at the place its parser gave up.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatLocation } from "../../src/errors.js";
import { parseConfig } from "../../src/config/index.js";
import { TranslationCache } from "../../src/config/translation-cache.js";
import { jsonIssues } from "../../src/config/json-syntax.js";
import { issuesOf } from "./config-helpers.js";

/** The one issue of `text` read as `file`, as the CLI prints it. */
function oneIssue(text: string, file = "x.json"): string {
  const issues = issuesOf(text, file);
  assert.equal(issues.length, 1, issues.map((i) => `${formatLocation(i.location)}: ${i.message}`).join("\n"));
  return `${formatLocation(issues[0]!.location)}: ${issues[0]!.message}`;
}

describe("malformed JSON", () => {
  const cases: [string, string, string][] = [
    [
      "an array left open: where it began, and where the parser found the object closing instead",
      '{\n  "clusters": [\n    {"name": "a", "endpoints": ["10.0.0.1:80"]}\n\n}\n',
      'x.json:5:1: invalid JSON: the array that began with "[" at 2:15 needs "," or "]" after an element here, found `}`; is a "]" missing?',
    ],
    [
      "a bracket closed by the wrong one",
      '{"clusters": [\n  {"name": "a", "endpoints": ["10.0.0.1:80"}\n]}\n',
      'x.json:2:44: invalid JSON: the array that began with "[" at 2:30 needs "," or "]" after an element here, found `}`; is a "]" missing?',
    ],
    [
      "an object left open at the end of the file",
      '{\n  "clusters": [\n    {"name": "a", "endpoints": ["10.0.0.1:80"]}\n  ]\n',
      'x.json:5:1: invalid JSON: the file ends inside the object that began with "{" at 1:1: it needs a "}"',
    ],
    [
      "a missing comma",
      '{"clusters": [{"name": "a" "endpoints": []}]}',
      'x.json:1:28: invalid JSON: the object that began with "{" at 1:15 needs "," or "}" after a value here, found `"endpoints"`; is a "," missing?',
    ],
    [
      "a trailing comma (YAML's flow style allows it, JSON does not)",
      '{"clusters": [\n  {"name": "a", "endpoints": ["10.0.0.1:80"]},\n]}\n',
      'x.json:3:1: invalid JSON: a trailing "," before "]": JSON allows none (in the array that began with "[" at 1:14)',
    ],
    [
      "a comment",
      '{\n  // the clusters\n  "clusters": []\n}\n',
      'x.json:2:3: invalid JSON: expected a key in double quotes, found `//`: JSON has no comments (in the object that began with "{" at 1:1)',
    ],
    [
      "single quotes",
      "{'clusters': []}",
      'x.json:1:2: invalid JSON: expected a key in double quotes, found `\'`: JSON strings take double quotes (in the object that began with "{" at 1:1)',
    ],
    [
      "a line break in a string",
      '{"clusters": [{"name": "a\n", "endpoints": []}]}',
      'x.json:1:26: invalid JSON: the string that began at 1:24 is not closed on its line (a JSON string cannot hold a line break; write \\n) (in the object that began with "{" at 1:15)',
    ],
    [
      "a closing bracket too many",
      '{"clusters": []}}\n',
      "x.json:1:17: invalid JSON: found `}` after the top-level value, which ended at 1:16: a JSON file holds one value",
    ],
    [
      "a capitalized literal",
      '{"clusters": [{"name": "a", "http2": True, "endpoints": []}]}',
      'x.json:1:38: invalid JSON: expected a value, found `True`: JSON\'s literals are true, false and null, in lower case (in the object that began with "{" at 1:15)',
    ],
    [
      "a duplicate key (JSON.parse would take the last; which one did the author mean?)",
      '{"clusters": [{"name": "a",\n  "name": "b", "endpoints": []}]}',
      'x.json:2:3: invalid JSON: duplicate key "name", first at 1:16, in the object that began with "{" at 1:15; JSON readers differ on which one counts: keep one',
    ],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => assert.equal(oneIssue(text), expected));
  }

  it("the daemon's reload path (the fast reader first) reports the same", () => {
    const text = cases[0]![1];
    assert.throws(
      () => parseConfig(text, "x.json", {}, { cache: new TranslationCache() }),
      (err: Error) => err.message.includes('x.json:5:1: invalid JSON: the array that began with "[" at 2:15'),
    );
  });

  it("a .yaml file keeps YAML's flow style (a trailing comma is fine there)", () => {
    const text = '{"clusters": [{"name": "a", "endpoints": ["10.0.0.1:80"]},]}\n';
    assert.equal(parseConfig(text, "x.yaml").defaults.length, 2);
    assert.match(oneIssue(text), /invalid JSON: a trailing ","/);
  });

  it("valid JSON is read as before: tabs, a byte order mark, positions from the YAML reader", () => {
    const text = '\uFEFF{\n\t"clusters": [\n\t\t{"name": "a", "endpoints": ["10.0.0.1:80"]}\n\t]\n}\n';
    const config = parseConfig(text, "x.json");
    assert.deepEqual(config.defaults[0]!.location, { file: "x.json", line: 3, column: 3, path: "clusters[0]" });
  });

  it("an error after valid JSON syntax is reported as for YAML", () => {
    assert.match(oneIssue('{"clusters": [{"name": "a", "endpoints": ["10.0.0.1:99999"]}]}'), /^x\.json:1:\d+ \(clusters\[0\]\.endpoints\[0\]\)/);
  });

  it("the scanner finds an error exactly when JSON.parse does (duplicate keys aside)", () => {
    fc.assert(
      fc.property(
        fc.json({ maxDepth: 4 }),
        fc.nat(),
        fc.constantFrom("delete", "insert", "replace"),
        fc.constantFrom(..."{}[],:\"' \n0-ae/\\"),
        (json, at, op, ch) => {
          const i = json.length === 0 ? 0 : at % json.length;
          const text =
            op === "delete"
              ? json.slice(0, i) + json.slice(i + 1)
              : op === "insert"
                ? json.slice(0, i) + ch + json.slice(i)
                : json.slice(0, i) + ch + json.slice(i + 1);
          let valid = true;
          try {
            JSON.parse(text);
          } catch {
            valid = false;
          }
          const syntax = jsonIssues(text).filter((issue) => !issue.message.includes("duplicate key"));
          assert.equal(syntax.length === 0, valid, `${JSON.stringify(text)}: ${syntax.map((s) => s.message).join("; ")}`);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
