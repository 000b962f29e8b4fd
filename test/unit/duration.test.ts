// xdsd reads durations with one grammar (src/config/duration.ts): the config schema's `duration` pattern, a
// registration's `ttl`, the write API's `timeout=` and the CLI's `--timeout` accept the same texts (issue 17:
// they were five hand-written grammars, and the API's took any number of decimals the config refused).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { registrationError } from "../../src/merge/registration.js";

const schema = JSON.parse(readFileSync(new URL("../../../schema/xdsd-config.schema.json", import.meta.url), "utf8"));
const configDuration = new RegExp(schema.definitions.duration.pattern);

/** Texts on both sides of the grammar, each between 1s and a day (a registration's range). */
const samples = ["30s", "1s", "1.5s", "86400s", "1.123456789s", "30.0000000001s", "1.s", "+2s", "2", "2 s", "1e2s", "０2s", "2S", "2.5ms", "2m"];

test("a registration's ttl is read with the config's duration grammar", () => {
  for (const text of samples) {
    const refused = registrationError({ ttl: text }) !== undefined;
    assert.equal(
      refused,
      !configDuration.test(text),
      `ttl "${text}": ${refused ? "refused" : "accepted"} by the API, ${configDuration.test(text) ? "accepted" : "refused"} by the config`,
    );
  }
});
