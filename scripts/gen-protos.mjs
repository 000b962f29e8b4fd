#!/usr/bin/env node
// Regenerates the protobuf-es TypeScript for Envoy's v3 API, and a descriptor set of the same files, from the
// .proto sources that the pinned npm package @grpc/grpc-js-xds ships (deps/{envoy-api,xds,googleapis,
// protoc-gen-validate}). Deterministic: the same package version always gives the same output.
//
// Why the filtering: the package ships a partial copy of those trees. Some files import protos it does not ship
// (opencensus, opentelemetry, parts of googleapis), and protoc-gen-validate carries stray java/ and tests/ folders.
// We keep every Envoy v3 file whose whole import closure is present, and nothing else but that closure.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { genProtosSummary } from "./lib/gen-protos-summary.mjs";

//   node scripts/gen-protos.mjs            generate src/gen (naming the files left out only when they changed)
//   node scripts/gen-protos.mjs --verbose  the same, always naming the files left out
//   node scripts/gen-protos.mjs --dry-run  only say what would be generated and what is skipped, and why
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dryRun = process.argv.includes("--dry-run");
const verbose = process.argv.includes("--verbose");
const require = createRequire(import.meta.url);
const xdsPkgDir = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
const depRoots = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xdsPkgDir, "deps", d));
const stage = join(root, "build", "proto");
const outTs = join(root, "src", "gen");
const outDescriptors = join(root, "src", "gen", "envoy-descriptors.binpb");

/** Well-known types that buf supplies itself. */
const builtIn = (path) => path.startsWith("google/protobuf/");

function walk(dir, base, found) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    const rel = relative(base, full);
    if (entry.isDirectory()) {
      if (rel === "java" || rel === "tests") continue;
      walk(full, base, found);
    } else if (entry.name.endsWith(".proto") && !found.has(rel)) {
      found.set(rel, full);
    }
  }
}

const sources = new Map(); // import path -> absolute file
for (const dir of depRoots) walk(dir, dir, sources);

const importRe = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;
const importsOf = new Map();
for (const [rel, full] of sources) {
  importsOf.set(
    rel,
    [...readFileSync(full, "utf8").matchAll(importRe)].map((m) => m[1]),
  );
}

const usable = new Map();
function isUsable(rel, seen = new Set()) {
  if (builtIn(rel)) return true;
  if (usable.has(rel)) return usable.get(rel);
  if (!sources.has(rel)) return false;
  if (seen.has(rel)) return true; // cycles are resolved by the outer call
  seen.add(rel);
  const ok = importsOf.get(rel).every((dep) => isUsable(dep, seen));
  usable.set(rel, ok);
  return ok;
}

const selected = new Set();
function select(rel) {
  if (builtIn(rel) || selected.has(rel)) return;
  selected.add(rel);
  for (const dep of importsOf.get(rel)) select(dep);
}
/** The imports in `rel`'s closure that the package does not ship. */
function missingImports(rel, seen = new Set(), out = new Set()) {
  if (builtIn(rel) || seen.has(rel)) return out;
  seen.add(rel);
  if (!sources.has(rel)) out.add(rel);
  else for (const dep of importsOf.get(rel)) missingImports(dep, seen, out);
  return out;
}

const skipped = []; // [file, its missing imports]
for (const rel of [...sources.keys()].sort()) {
  if (!rel.startsWith("envoy/") || !/\/v3\//.test(rel)) continue;
  if (isUsable(rel)) select(rel);
  else skipped.push([rel, [...missingImports(rel)].sort()]);
}

/** Where the last build's list of files left out is kept, to say it again only when it changes. */
const leftOutRecord = join(root, "build", "gen-protos-left-out.txt");

function summary() {
  let lastLeftOut;
  try {
    lastLeftOut = readFileSync(leftOutRecord, "utf8");
  } catch {}
  return genProtosSummary({ generated: selected.size, skipped, dryRun, verbose, lastLeftOut });
}

if (dryRun) {
  console.log(summary().line);
  process.exit(0);
}

rmSync(stage, { recursive: true, force: true });
for (const rel of [...selected].sort()) {
  const dest = join(stage, rel);
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(sources.get(rel), dest);
}

// The bundled validate.proto predates `ignore_empty` on StringRules, which a few Envoy files use. Add it with the
// field number upstream protoc-gen-validate gives it (26), so those files compile and keep their meaning.
const validateProto = join(stage, "validate", "validate.proto");
let validate = readFileSync(validateProto, "utf8");
if (!/message StringRules \{[\s\S]*?ignore_empty[\s\S]*?\n\}/.test(validate.match(/message StringRules \{[\s\S]*?\n\}/)[0])) {
  validate = validate.replace(/(message StringRules \{[\s\S]*?)(\n\})/, "$1\n    optional bool ignore_empty = 26;$2");
  writeFileSync(validateProto, validate);
}

writeFileSync(join(stage, "buf.yaml"), "version: v2\nlint:\n  use: []\nbreaking:\n  use: []\n");
writeFileSync(
  join(stage, "buf.gen.yaml"),
  [
    "version: v2",
    "plugins:",
    `  - local: ${join(root, "node_modules", ".bin", "protoc-gen-es")}`,
    `    out: ${outTs}`,
    "    opt: [target=ts, import_extension=js]",
    "    strategy: all",
    "",
  ].join("\n"),
);

const buf = join(root, "node_modules", ".bin", "buf");
rmSync(outTs, { recursive: true, force: true });
mkdirSync(outTs, { recursive: true });
execFileSync(buf, ["generate", "--include-imports", "--include-wkt=false"], { cwd: stage, stdio: "inherit" });
execFileSync(buf, ["build", "-o", outDescriptors], { cwd: stage, stdio: "inherit" });
if (!existsSync(outDescriptors)) throw new Error("buf build wrote no descriptor set");
const { line, leftOut } = summary();
console.log(line);
mkdirSync(dirname(leftOutRecord), { recursive: true });
writeFileSync(leftOutRecord, leftOut);
