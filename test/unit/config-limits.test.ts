// Inputs that used to crash validation or the daemon (issue 10): each is now a located config error, exit 2 from
// `xdsd validate`, and legitimate use of the same features keeps working up to the documented limit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.js";
import { loadConfigFile, parseConfig } from "../../src/config/index.js";
import { defaultConfigLimits } from "../../src/config/config-limits.js";
import { issuesOf, lines } from "./config-helpers.js";

const cluster = (name: string) => `  - {name: ${name}, endpoints: ["127.0.0.1:80"]}`;

describe("aliases", () => {
  it("an alias with no anchor is a located error", () => {
    const issues = issuesOf(lines("clusters: *a"));
    assert.equal(issues.length, 1);
    assert.deepEqual(issues[0].location, { file: "test.yaml", line: 1, column: 11 });
    assert.match(issues[0].message, /alias \*a has no anchor &a before it/);
  });

  it("a billion-laughs file is refused at the alias that crosses the limit", () => {
    const text = lines(
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
    );
    const issues = issuesOf(text);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].location.line, 7); // g: the first *f takes the expansion past 1,000,000
    assert.match(issues[0].message, /aliases expand to more than 1000000 nodes in all, the limit \(--max-config-alias-nodes raises it\)/);
  });

  it("a legitimate file with 2,000 alias uses is accepted", () => {
    const text = lines(
      "clusters:",
      '  - {name: c0, lb_policy: LEAST_REQUEST, endpoints: &eps ["127.0.0.1:80", {address: 127.0.0.1, port: 81, weight: 2}]}',
      ...Array.from({ length: 2000 }, (_, i) => `  - {name: c${i + 1}, endpoints: *eps}`),
    );
    const config = parseConfig(text, "test.yaml");
    assert.equal(config.defaults.filter((r) => r.typeUrl.endsWith("ClusterLoadAssignment")).length, 2001);
  });

  it("more alias uses than the limit are refused at the first one past it", () => {
    const text = lines(
      "clusters:",
      '  - {name: c0, endpoints: &eps ["127.0.0.1:80"]}',
      ...Array.from({ length: 10 }, (_, i) => `  - {name: c${i + 1}, endpoints: *eps}`),
    );
    assert.equal(parseConfig(text, "test.yaml").defaults.length, 22);
    assert.throws(
      () => parseConfig(text, "test.yaml", { maxAliases: 4 }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.length === 1 &&
        e.issues[0].location.line === 7 &&
        /more than 4 aliases, the limit \(--max-config-aliases raises it\)/.test(e.issues[0].message),
    );
  });

  it('a quoted "<<" is an ordinary key, not a merge', () => {
    const text = lines("resources:", '  - {"@type": type.googleapis.com/envoy.service.runtime.v3.Runtime, name: rt, layer: {"<<": 1}}');
    assert.equal(parseConfig(text, "test.yaml").defaults.length, 1);
  });

  it("merge keys share blocks", () => {
    const text = lines("clusters:", '  - &common {name: a, connect_timeout: 1s, endpoints: ["127.0.0.1:80"]}', "  - {<<: *common, name: b}");
    const config = parseConfig(text, "test.yaml");
    assert.deepEqual(
      config.defaults.map((r) => r.name),
      ["a", "a", "b", "b"],
    );
  });

  it("the alias limit can be raised", () => {
    const text = lines(
      "clusters:",
      '  - {name: a, endpoints: &eps ["127.0.0.1:80", "127.0.0.1:81"]}',
      "  - {name: b, endpoints: *eps}",
      "  - {name: c, endpoints: *eps}",
    );
    assert.equal(parseConfig(text, "test.yaml").defaults.length, 6);
    // Each use of *eps adds 3 nodes (the sequence and its two items): the second use crosses a limit of 5.
    assert.throws(
      () => parseConfig(text, "test.yaml", { maxAliasNodes: 5 }),
      (e: unknown) => e instanceof ConfigError && e.issues.length === 1 && e.issues[0].location.line === 4 && /more than 5 nodes/.test(e.issues[0].message),
    );
  });
});

describe("nesting depth", () => {
  for (const [style, text] of [
    ["flow sequences", `clusters: ${"[".repeat(10_000)}`],
    ["JSON objects", `{"clusters": ${'{"a": '.repeat(10_000)}1${"}".repeat(10_001)}`],
    ["compact block sequences", `clusters:\n  ${"- ".repeat(50_000)}x\n`],
  ] as const) {
    it(`10,000 levels of ${style} are a located error naming the limit, not a stack overflow`, () => {
      const issues = issuesOf(text, style === "JSON objects" ? "test.json" : "test.yaml");
      assert.equal(issues.length, 1);
      assert.equal(issues[0].location.line, style === "compact block sequences" ? 2 : 1);
      assert.match(issues[0].message, /nesting is deeper than 100 levels, the limit \(--max-config-depth raises it\)/);
    });
  }

  it("nesting up to the limit is accepted by the reader", () => {
    const deep = 'clusters: [{name: a, endpoints: ["127.0.0.1:80"]}]\nresources: []\n';
    assert.equal(parseConfig(deep, "test.yaml").defaults.length, 2);
    const issues = issuesOf(`clusters: ${"[".repeat(99)}${"]".repeat(99)}`);
    assert.ok(
      issues.every((i) => !/nesting is deeper/.test(i.message)),
      JSON.stringify(issues),
    );
  });
});

describe("config size", () => {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-limits-"));

  it("a file over the limit is refused before it is read, naming its size, the limit and the flag", () => {
    const file = join(dir, "big.yaml");
    writeFileSync(file, lines("clusters:", ...Array.from({ length: 100 }, (_, i) => cluster(`c${i}`))));
    assert.throws(
      () => loadConfigFile(file, { maxBytes: 1000 }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.length === 1 &&
        e.issues[0].location.file === file &&
        /the config is \d+ bytes, over the limit of 1000 \(--max-config-bytes raises it\); it was not parsed/.test(e.issues[0].message),
    );
    assert.equal(loadConfigFile(file).defaults.length, 200);
  });

  it("text over the limit is refused by parseConfig too", () => {
    const issues = (() => {
      try {
        parseConfig("x".repeat(defaultConfigLimits.maxBytes + 1), "test.yaml");
      } catch (e) {
        return (e as ConfigError).issues;
      }
      return [];
    })();
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /over the limit of 16777216/);
  });
});
