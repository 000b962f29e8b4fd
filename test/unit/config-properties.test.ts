// Properties of the config loader (fast-check): any text — noise, YAML-looking text, mutations of a valid config
// — either loads or is refused with a ConfigError whose every issue names the file and, where it has one, a line
// and column inside the text. Nothing else may come out of parseConfig: any other exception would be a stack
// trace from `xdsd validate` and, before the config worker, a crash of the daemon's reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ConfigError } from "../../src/errors.js";
import { parseConfig } from "../../src/config/index.js";
import { snapshotsOf } from "../../src/config/snapshots.js";
import { repoFile } from "./config-helpers.js";
import { ConfigSource } from "../../src/config/source.js";
import { UnlocatedSource } from "../../src/config/unlocated-source.js";

const seed = 20261201;
const seedConfig = readFileSync(repoFile("examples/seed.yaml"), "utf8");

function checkOutcome(text: string): void {
  const lineCount = text.split("\n").length;
  try {
    snapshotsOf(parseConfig(text, "fuzz.yaml"));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${(err as Error)?.stack ?? String(err)}\n--- input ---\n${text.slice(0, 2000)}`);
    assert.ok(err.issues.length > 0);
    for (const issue of err.issues) {
      assert.equal(issue.location.file, "fuzz.yaml");
      assert.ok(issue.message.length > 0);
      if (issue.location.line !== undefined) assert.ok(issue.location.line >= 1 && issue.location.line <= lineCount + 1, JSON.stringify(issue));
      if (issue.location.column !== undefined) assert.ok(issue.location.column >= 1, JSON.stringify(issue));
    }
  }
}

/** Pieces YAML is made of, to build text that gets past the first syntax check more often than noise does. */
const yamlPiece = fc.constantFrom(
  "clusters:",
  "listeners:",
  "resources:",
  "nodes:",
  "- ",
  "  ",
  "name: ",
  "a",
  "b",
  "endpoints: ",
  "[",
  "]",
  "{",
  "}",
  ", ",
  ": ",
  "\n",
  "&x ",
  "*x",
  "<<: *x",
  '"127.0.0.1:80"',
  "port: ",
  "10000",
  "-1",
  "0.25s",
  "virtual_hosts: ",
  "routes: ",
  "prefix: /",
  "cluster: a",
  '"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster',
  "!!binary ",
  "? ",
  "| ",
  "#",
  "'",
  '"',
  "~",
  "null",
  "true",
  "1e999",
  "0x1F",
  "0b11",
  ".inf",
  "-.NaN",
  "0o17",
  "017",
  "+12",
  "1_000",
  "2001-12-14",
  "12:30:00",
  '"\\x41"',
  "yes",
  "Off",
  "!!str ",
  "NULL",
  "1.e5",
  "+0x1F",
  "-0o7",
  "-.5",
  "+.5",
  "\uFEFF%YAML 1.1\n",
  '{"a":&x [1],"b":*x}',
  "<<: {k: v}",
  '"<<": 1',
  '{"p":0b11}',
  "domains: ['*']",
  "grpc: true",
  "weight: 0",
  "--- ",
  "\t",
  "\u0000",
  "é",
);

test("noise: any string loads or is a located ConfigError", () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), checkOutcome), { seed, numRuns: 500 });
});

test("YAML-shaped text: loads or is a located ConfigError", () => {
  fc.assert(
    fc.property(
      fc.array(yamlPiece, { maxLength: 60 }).map((p) => p.join("")),
      checkOutcome,
    ),
    { seed, numRuns: 1500 },
  );
});

/** The seed config with a few pieces cut out and YAML-ish pieces put in. */
const mutatedSeed = fc
  .array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.oneof(yamlPiece, fc.string({ maxLength: 4 }))), { minLength: 1, maxLength: 5 })
  .map((edits) => {
    let text = seedConfig;
    for (const [at, remove, insert] of edits) {
      const i = at % (text.length + 1);
      text = text.slice(0, i) + insert + text.slice(i + remove);
    }
    return text;
  });

test("mutations of the seed config: load or are a located ConfigError", () => {
  fc.assert(fc.property(mutatedSeed, checkOutcome), { seed, numRuns: 1500 });
});

/** The fast reader is only trusted with what both readers read the same (unlocated-source.ts). */
function readersAgree(text: string): void {
  const fast = UnlocatedSource.read(text, "fuzz.yaml");
  if (!fast) return;
  const positioned = new ConfigSource(text, "fuzz.yaml");
  if (positioned.syntaxIssues.length > 0) return; // then the positioned reader reports it: nothing is published
  if (positioned.value == null && fast.value == null) return; // an empty document, refused either way
  assert.deepEqual(fast.value, positioned.value, `the readers disagree on:\n${text}`);
}

test("the fast and the positioned reader agree on every text both accept: YAML-shaped text", () => {
  fc.assert(
    fc.property(
      fc.array(yamlPiece, { maxLength: 60 }).map((p) => p.join("")),
      readersAgree,
    ),
    { seed, numRuns: 3000 },
  );
});

test("the fast and the positioned reader agree on every text both accept: mutations of the seed config", () => {
  fc.assert(fc.property(mutatedSeed, readersAgree), { seed, numRuns: 3000 });
});
