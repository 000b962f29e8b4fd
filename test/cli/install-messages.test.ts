// What a user sees while installing and building (issue 8): no warning they cannot act on. The protos the build
// leaves out are named, each with the import it lacks; npm's install-scripts warning is answered in package.json;
// npm's engine warning for the code generator is explained once the install ends.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../support/processes.js";

const root = repoRoot();
const { installNotes } = (await import(pathToFileURL(join(root, "scripts", "build.mjs")).href)) as {
  installNotes(root: string, nodeVersion: string): string[];
};

test("the gen step names every Envoy v3 file it leaves out and the import that file lacks, in one line", () => {
  const descriptors = join(root, "src", "gen", "envoy-descriptors.binpb");
  const before = statSync(descriptors).mtimeMs;
  const r = spawnSync(process.execPath, [join(root, "scripts", "gen-protos.mjs"), "--dry-run"], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stdout);
  const line = lines[0]!;
  const m =
    /^gen-protos: (\d+) files would be generated into src\/gen; (\d+) Envoy v3 files? left out because @grpc\/grpc-js-xds does not ship what (?:it imports|they import), so there are no types for them: (.*)$/.exec(
      line,
    );
  assert.ok(m, line);
  assert.ok(Number(m[1]) > 300);
  // Every group is "a.proto, b.proto (imports x.proto, …)", and they name as many files as the count says.
  const groups = m[3]!.split("; ");
  let files = 0;
  for (const g of groups) {
    const gm = /^((?:envoy\/\S+\.proto)(?:, envoy\/\S+\.proto)*) \(imports (\S+\.proto(?:, \S+\.proto)*)\)$/.exec(g);
    assert.ok(gm, g);
    files += gm[1]!.split(", ").length;
  }
  assert.equal(files, Number(m[2]));
  assert.match(line, /envoy\/config\/trace\/v3\/opencensus\.proto[^;]*\(imports opencensus\/proto\/trace\/v1\/trace_config\.proto\)/);
  assert.equal(statSync(descriptors).mtimeMs, before, "--dry-run generates nothing");
});

test("every dependency with an install script has an allowScripts entry (npm warns about the rest)", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages)
    .filter(([path, p]) => path !== "" && p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length));
  assert.ok(withScripts.length > 0);
  for (const name of withScripts) assert.equal(typeof pkg.allowScripts?.[name], "boolean", `${name} is in allowScripts`);
});

test("the builder explains npm's engine warning for protoc-gen-es, only on a Node it warns about", () => {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-notes-"));
  mkdirSync(join(dir, "node_modules", "@bufbuild", "protoc-gen-es"), { recursive: true });
  writeFileSync(join(dir, "node_modules", "@bufbuild", "protoc-gen-es", "package.json"), JSON.stringify({ engines: { node: ">=22" } }));
  assert.deepEqual(installNotes(dir, "22.3.0"), []);
  const [note, ...more] = installNotes(dir, "20.19.0");
  assert.deepEqual(more, []);
  assert.match(note!, /^xdsd: npm's EBADENGINE warning for @bufbuild\/protoc-gen-es \(it asks for node >=22\) can be ignored: .* Node 20\.19\.0/);
  assert.deepEqual(installNotes(join(dir, "nowhere"), "20.19.0"), [], "no generator installed: nothing to say");
  rmSync(dir, { recursive: true });
});
