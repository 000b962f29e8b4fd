// Node identities and their patterns (cache/identity-patterns.ts): what each matches, what is refused and where
// (`identities:` in the config, a located error), and how a group's list and the top level's combine into the
// readers of each snapshot.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdentityMatcher, identityPatternError } from "../../src/cache/identity-patterns.js";
import { parseConfig } from "../../src/config/index.js";
import { snapshotsOf } from "../../src/config/snapshots.js";
import { fromTransferable, toTransferable } from "../../src/daemon/transferable-snapshots.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { warnUnenforcedIdentities } from "../../src/server/authorization.js";
import { columnOf, issuesOf, lines } from "./config-helpers.js";

describe("identity patterns", () => {
  const m = new IdentityMatcher(["spiffe://acme.test/edge/*", "spiffe://acme.test/db/primary", "*.cache.acme.test", "admin.acme.test"]);

  it("an exact SPIFFE ID matches itself only, case and all", () => {
    assert.equal(m.matches("spiffe://acme.test/db/primary"), true);
    assert.equal(m.matches("spiffe://acme.test/db/Primary"), false);
    assert.equal(m.matches("spiffe://acme.test/db/primary/x"), false);
    assert.equal(m.matches("spiffe://acme.test/db"), false);
  });

  it("a /* pattern matches one last path segment, not the parent, not deeper", () => {
    assert.equal(m.matches("spiffe://acme.test/edge/a"), true);
    assert.equal(m.matches("spiffe://acme.test/edge/b-2"), true);
    assert.equal(m.matches("spiffe://acme.test/edge"), false);
    assert.equal(m.matches("spiffe://acme.test/edge/"), false);
    assert.equal(m.matches("spiffe://acme.test/edge/a/b"), false);
    assert.equal(m.matches("spiffe://other.test/edge/a"), false);
    assert.equal(m.matches("spiffe://acme.test/edgex/a"), false);
  });

  it("DNS names match in any letter case; *. matches one first label", () => {
    assert.equal(m.matches("admin.acme.test"), true);
    assert.equal(m.matches("ADMIN.acme.test"), true);
    assert.equal(m.matches("x.admin.acme.test"), false);
    assert.equal(m.matches("node-1.cache.acme.test"), true);
    assert.equal(m.matches("Node-1.Cache.acme.test"), true);
    assert.equal(m.matches("cache.acme.test"), false);
    assert.equal(m.matches("a.node-1.cache.acme.test"), false);
  });

  it("no identity matches nothing, and a URI never matches a DNS pattern", () => {
    assert.equal(m.matches(undefined), false);
    assert.equal(m.matches(""), false);
    assert.equal(new IdentityMatcher(["*.acme.test"]).matches("spiffe://x.acme.test"), false);
  });

  it("refuses what is not a SPIFFE ID or DNS name, and * anywhere but the whole last segment or first label", () => {
    for (const bad of [
      "",
      "spiffe://acme.test/*/a",
      "spiffe://acme.test/edge*",
      "spiffe://acme.test/edge/a*",
      "spiffe://*/edge",
      "spiffe://acme.test/edge/",
      "spiffe://acme.test//a",
      "spiffe://Acme.test/a",
      "spiffe://acme.test/a?b",
      "spiffe://acme.test/../a",
      "https://acme.test/a",
      "*",
      "a.*.acme.test",
      "*a.acme.test",
      "**.acme.test",
      "-a.acme.test",
      "a b",
    ]) {
      assert.ok(identityPatternError(bad) !== undefined, `"${bad}" must be refused`);
    }
    for (const good of ["spiffe://acme.test", "spiffe://acme.test/*", "spiffe://acme.test/ns/prod/sa/web", "localhost", "*.acme.test", "a_b.acme.test"]) {
      assert.equal(identityPatternError(good), undefined, good);
    }
  });
});

describe("identities: in the config", () => {
  it("a malformed pattern is an error at its line and column, saying what is expected", () => {
    const text = lines("identities:", '  - "spiffe://acme.test/edge/*"', "nodes:", "  c/n:", "    identities:", '      - "spiffe://acme.test/*/a"');
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.deepEqual(issues[0].location, { file: "test.yaml", line: 6, column: columnOf(text, 6, '"spiffe'), path: 'nodes["c/n"].identities[0]' });
    assert.match(issues[0].message, /only the whole last path segment may be "\*"; expected a SPIFFE ID/);
  });

  it("an empty list and a non-string are refused by the schema, located", () => {
    const issues = issuesOf(lines("identities: []", "nodes:", "  c/n:", "    identities: [42]"));
    assert.deepEqual(
      issues.map((i) => [i.location.line, i.message]),
      [
        [1, "must not be empty"],
        [4, "must be a string, not the number 42"],
      ],
    );
  });

  it("a group's own list wins; a group without one takes the top level's; neither: open", () => {
    const config = parseConfig(
      lines("identities: [spiffe://acme.test/edge/*]", "nodes:", "  c/own: {identities: [db.acme.test]}", "  c/inherits: {}"),
      "test.yaml",
    );
    const s = snapshotsOf(config);
    assert.deepEqual(s.defaults.readers?.patterns, ["spiffe://acme.test/edge/*"]);
    assert.deepEqual(s.nodes.get("c/own")?.readers?.patterns, ["db.acme.test"]);
    assert.deepEqual(s.nodes.get("c/inherits")?.readers?.patterns, ["spiffe://acme.test/edge/*"]);
    // Compiled once per list, not per group: here, and after crossing from the config worker.
    assert.equal(s.nodes.get("c/inherits")?.readers, s.defaults.readers);
    const crossed = fromTransferable(structuredClone(toTransferable(s).payload));
    assert.equal(crossed.nodes.get("c/inherits")?.readers, crossed.defaults.readers);
    assert.deepEqual(crossed.nodes.get("c/own")?.readers?.patterns, ["db.acme.test"]);
    const open = snapshotsOf(parseConfig(lines("nodes:", "  c/n: {}"), "test.yaml"));
    assert.equal(open.defaults.readers, undefined);
    assert.equal(open.nodes.get("c/n")?.readers, undefined);
  });
});

describe("identities: without client certificates", () => {
  it("the daemon warns once that they are not enforced: at once, or at the first publish that lists some", () => {
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (m: string) => warnings.push(m), error: () => {} };
    const cache = new SnapshotCache();
    cache.setDefaultSnapshot(Snapshot.from([]));
    const cancel = warnUnenforcedIdentities(cache, log);
    assert.deepEqual(warnings, []);
    cache.setSnapshot("c/n", Snapshot.from([], ["spiffe://acme.test/edge/*"]));
    cache.setSnapshot("c/m", Snapshot.from([], ["db.acme.test"]));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /identities:, but xDS clients are not asked for certificates \(no --xds-client-ca\): the lists are not enforced/);
    cancel();

    const listedAtStart: string[] = [];
    warnUnenforcedIdentities(cache, { ...log, warn: (m: string) => listedAtStart.push(m) })();
    assert.equal(listedAtStart.length, 1);
  });
});
