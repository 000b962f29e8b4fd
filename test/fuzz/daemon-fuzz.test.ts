// The bounded fuzz run of `npm test` (issue 10): a seeded minute of hostile traffic against a real `xdsd serve`,
// then the proof that nothing was lost — the process is alive, a well-formed client is served, /healthz is 200, and
// RSS is back within a set bound. `npm run fuzz` runs the same probes longer and with more of each.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeRun, fuzzRun } from "./fuzz-run.js";

const seed = Number(process.env.XDSD_FUZZ_SEED ?? 20261201);

test(`fuzz: the daemon survives a bounded run of hostile input (seed ${seed})`, { timeout: 120_000 }, async (t) => {
  const result = await fuzzRun({ seed, scale: 1, probeMs: 8_000 });
  t.diagnostic(describeRun(result));
  // Every probe actually ran, and met the answers documented for it.
  for (const probe of ["malformed frames", "absurd requests", "RST storm", "abandoned streams", "admin requests", "mutated configs"]) {
    assert.ok((result.report[probe]?.sent ?? 0) > 0, `probe "${probe}" sent nothing`);
  }
  assert.equal(result.report["RST storm"].outcomes["GOAWAY 11"], 1, "the stream-rate limit's ENHANCE_YOUR_CALM, not nghttp2's INTERNAL_ERROR, ends the storm");
  assert.equal(result.report["admin requests"].outcomes["5xx"] ?? 0, 0, "no admin request is an internal error");
});
