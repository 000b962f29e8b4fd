// What a user sees while installing and building (issues 8 and 18): no warning they cannot act on. The protos the build
// leaves out are named, each with the import it lacks; npm's install-scripts warning is answered in package.json;
// npm's engine warning for the code generator is explained once the install ends.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
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

test("a build names the Envoy v3 files gen-protos leaves out only when they changed since the last build (issue 18, item 21)", async () => {
  const { genProtosSummary } = (await import(pathToFileURL(join(root, "scripts", "lib", "gen-protos-summary.mjs")).href)) as {
    genProtosSummary(o: { generated: number; skipped: [string, string[]][]; dryRun?: boolean; verbose?: boolean; lastLeftOut?: string }): {
      line: string;
      leftOut: string;
    };
  };
  const skipped: [string, string[]][] = [["envoy/a/v3/a.proto", ["x/y.proto"]]];
  const first = genProtosSummary({ generated: 367, skipped });
  assert.equal(first.line, `gen-protos: 367 files generated into src/gen; ${first.leftOut}`, "the first build says what it left out");
  assert.match(first.leftOut, /^1 Envoy v3 file left out because .*: envoy\/a\/v3\/a\.proto \(imports x\/y\.proto\)$/);
  const again = genProtosSummary({ generated: 367, skipped, lastLeftOut: first.leftOut });
  assert.equal(again.line, "gen-protos: 367 files generated into src/gen", "the next one, the same: one short line");
  assert.equal(genProtosSummary({ generated: 367, skipped, lastLeftOut: first.leftOut, verbose: true }).line, first.line, "--verbose says it");
  assert.equal(
    genProtosSummary({ generated: 367, skipped, lastLeftOut: first.leftOut, dryRun: true }).line,
    first.line.replace("generated", "would be generated"),
  );
  const changed = genProtosSummary({ generated: 366, skipped: [...skipped, ["envoy/b/v3/b.proto", ["z.proto"]]], lastLeftOut: first.leftOut });
  assert.match(changed.line, /; 2 Envoy v3 files left out .*envoy\/b\/v3\/b\.proto \(imports z\.proto\)/, "a change is said");
  assert.equal(genProtosSummary({ generated: 367, skipped: [], lastLeftOut: first.leftOut }).line, "gen-protos: 367 files generated into src/gen");
});

test("pip installs into .tools without its warning about running as root (issue 18, item 21)", () => {
  // A python3 of our own first on PATH, which records how pip was run instead of running it.
  const dir = mkdtempSync(join(tmpdir(), "xdsd-pip-"));
  const record = join(dir, "pip-run.txt");
  writeFileSync(join(dir, "python3"), `#!/bin/sh\necho "PIP_ROOT_USER_ACTION=$PIP_ROOT_USER_ACTION $*" > "${record}"\n`);
  chmodSync(join(dir, "python3"), 0o755);
  const tools = pathToFileURL(join(root, "scripts", "lib", "install-tools.mjs")).href;
  const r = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", `(await import(${JSON.stringify(tools)})).pipInstallTarget("pkg==1", ${JSON.stringify(join(dir, "target"))})`],
    {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, PIP_ROOT_USER_ACTION: "" },
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(record, "utf8"), /^PIP_ROOT_USER_ACTION=ignore -m pip install .*--target \S+ pkg==1$/m);
  rmSync(dir, { recursive: true });
});
