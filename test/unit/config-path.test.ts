// Field paths as xdsd writes them (`clusters[0].endpoints[1].port`, `listeners["a.b"].port`) read back into their
// segments: the CLI locates an API issue's store path in the file it applied (xdsd apply -f, issue 18, item 15).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatPath, parsePath, type Path } from "../../src/config/source.js";

test("parsePath reads back every path formatPath writes", () => {
  const segment = fc.oneof(fc.nat(1000), fc.string(), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/));
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 6 }), (path: Path) => {
      assert.deepEqual(parsePath(formatPath(path)), path);
    }),
  );
  assert.deepEqual(parsePath("listeners.listener_api.port"), ["listeners", "listener_api", "port"]);
  assert.deepEqual(parsePath('resources["type.googleapis.com/envoy.config.cluster.v3.Cluster/raw"].type'), [
    "resources",
    "type.googleapis.com/envoy.config.cluster.v3.Cluster/raw",
    "type",
  ]);
});

test("parsePath refuses what formatPath cannot have written", () => {
  for (const text of [".a", "a..b", "a b", "a[x]", 'a["b"', "a[1]b", "[-1]"]) assert.equal(parsePath(text), undefined, text);
});
