// parseCommandLine: an option's value that starts with a dash is the value (a base64url version can), unless it is
// one of the command's own options — then the missing value is said, as parseArgs says it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { joinDashValues, parseCommandLine } from "../../src/cli/command-line.js";

const options = {
  version: { type: "string" },
  output: { type: "string", short: "o" },
  "no-wait": { type: "boolean" },
} as const;

test("a dash-leading value is joined to its option, long or short", () => {
  assert.deepEqual(joinDashValues(["--version", "-Ab_9"], options), ["--version=-Ab_9"]);
  assert.deepEqual(joinDashValues(["-o", "-x"], options), ["--output=-x"]);
  const { values } = parseCommandLine({ args: ["--version", "-Ab_9", "-o", "json"], options });
  assert.deepEqual({ ...values }, { version: "-Ab_9", output: "json" });
});

test("an option of the command, a boolean, '--' and '-' are not taken as values", () => {
  assert.deepEqual(joinDashValues(["--version", "-o", "json"], options), ["--version", "-o", "json"]);
  assert.deepEqual(joinDashValues(["--version", "--no-wait"], options), ["--version", "--no-wait"]);
  assert.deepEqual(joinDashValues(["--no-wait", "-x"], options), ["--no-wait", "-x"]);
  assert.deepEqual(joinDashValues(["--", "--version", "-x"], options), ["--", "--version", "-x"]);
  assert.deepEqual(joinDashValues(["--version", "-"], options), ["--version", "-"]);
  assert.throws(() => parseCommandLine({ args: ["--version", "-o", "json"], options }), /ambiguous/);
});
