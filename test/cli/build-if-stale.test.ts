// scripts/build.mjs --if-stale (npm's prepare, and npm start): nothing to do when dist/ is current, so a first
// `npx xdsd` in a clone does not rebuild for a minute in silence; otherwise one line saying what it builds and why.
// And bin/xdsd.js without dist/ says so in one line instead of a stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../support/processes.js";

interface BuildScript {
  staleness(root: string): { gen?: string; ts?: string; ui?: string };
  buildIfStale(root: string): boolean;
}
const script = (await import(pathToFileURL(join(repoRoot(), "scripts", "build.mjs")).href)) as BuildScript;

/** A tree with the build's inputs and outputs, every file dated `at` (seconds). */
function tree(at: number): string {
  const root = mkdtempSync(join(tmpdir(), "xdsd-build-"));
  const files = [
    "scripts/gen-protos.mjs",
    "node_modules/@grpc/grpc-js-xds/package.json",
    "node_modules/@bufbuild/protoc-gen-es/package.json",
    "tsconfig.json",
    "src/gen/envoy-descriptors.binpb",
    "src/gen/envoy/x_pb.ts",
    "src/cli/main.ts",
    "test/unit/a.test.ts",
    "dist/.build-stamp",
    "scripts/build.mjs",
    "package-lock.json",
    "ui/app.ts",
    "ui/index.html",
    "ui/style.css",
    "ui/tsconfig.json",
    "dist/ui/app.js",
  ];
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), "");
    utimesSync(join(root, f), at, at);
  }
  return root;
}

const touch = (root: string, file: string, at: number) => utimesSync(join(root, file), at, at);

test("a tree built after its inputs changed is current: nothing to build", () => {
  const root = tree(1_000_000);
  assert.deepEqual(script.staleness(root), { gen: undefined, ts: undefined, ui: undefined });
  touch(root, "dist/.build-stamp", 1_000_100);
  assert.deepEqual(script.staleness(root), { gen: undefined, ts: undefined, ui: undefined });
  touch(root, "src/gen/envoy/x_pb.ts", 1_000_200); // generated files are outputs, not inputs
  assert.deepEqual(script.staleness(root), { gen: undefined, ts: undefined, ui: undefined });
  assert.equal(script.buildIfStale(root), false, "and --if-stale does nothing");
  rmSync(root, { recursive: true });
});

test("a changed .ts file, a missing or unfinished dist/, a newer generator: each says what is stale", () => {
  const root = tree(1_000_000);
  touch(root, "src/cli/main.ts", 1_000_100);
  assert.deepEqual(script.staleness(root), { gen: undefined, ts: "src/cli/main.ts changed since the last build", ui: undefined });
  touch(root, "src/cli/main.ts", 1_000_000);
  touch(root, "test/unit/a.test.ts", 1_000_100);
  assert.equal(script.staleness(root).ts, "test/unit/a.test.ts changed since the last build");
  touch(root, "test/unit/a.test.ts", 1_000_000);
  touch(root, "node_modules/@grpc/grpc-js-xds/package.json", 1_000_100);
  assert.deepEqual(script.staleness(root), {
    gen: "node_modules/@grpc/grpc-js-xds/package.json is newer than src/gen",
    ts: "src/gen is being regenerated",
    ui: undefined,
  });
  touch(root, "node_modules/@grpc/grpc-js-xds/package.json", 1_000_000);
  rmSync(join(root, "dist", ".build-stamp"));
  assert.equal(script.staleness(root).ts, "dist/ is from an older or unfinished build");
  rmSync(join(root, "dist"), { recursive: true });
  assert.equal(script.staleness(root).ts, "dist/ is missing");
  rmSync(join(root, "src", "gen"), { recursive: true });
  assert.equal(script.staleness(root).gen, "src/gen is missing");
  rmSync(root, { recursive: true });
});

test("the dashboard is bundled again when its sources, styles or page change, or dist/ui/ is missing", () => {
  const root = tree(1_000_000);
  touch(root, "ui/app.ts", 1_000_100);
  assert.deepEqual(script.staleness(root), { gen: undefined, ts: undefined, ui: "ui/app.ts changed since the dashboard was bundled" });
  touch(root, "ui/app.ts", 1_000_000);
  touch(root, "ui/style.css", 1_000_100);
  assert.equal(script.staleness(root).ui, "ui/style.css changed since the dashboard was bundled");
  touch(root, "ui/style.css", 1_000_000);
  rmSync(join(root, "dist", "ui"), { recursive: true });
  assert.equal(script.staleness(root).ui, "dist/ui/ is missing");
  rmSync(root, { recursive: true });
});

test("bin/xdsd.js without dist/ says to build, in one line, and exits 1", () => {
  const root = mkdtempSync(join(tmpdir(), "xdsd-nodist-"));
  cpSync(join(repoRoot(), "bin"), join(root, "bin"), { recursive: true });
  const r = spawnSync(process.execPath, [join(root, "bin", "xdsd.js"), "--version"], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "xdsd: dist/ is not built: run `npm run build` in the repository first (npm install and npm start do it)\n");
  rmSync(root, { recursive: true });
});
