#!/usr/bin/env node
// The build: Envoy's protos → src/gen (gen-protos.mjs), then TypeScript → dist/, then dist/.build-stamp; and the
// dashboard (ui/, type-checked on its own, bundled by esbuild with Preact, htm and uPlot) → dist/ui/.
//
//   node scripts/build.mjs             everything (npm run build; --verbose: gen-protos names the files it leaves out)
//   node scripts/build.mjs --if-stale  only the steps whose inputs changed since the last build, saying why on
//                                      stderr; nothing at all when dist/ is current (npm's prepare, and npm start)
//
// "Changed" is by modification time: an input newer than what it builds (a git pull or checkout touches the files
// it changes). The protos' inputs are the generator and the pinned packages it reads; TypeScript's are every .ts
// file that tsconfig.json compiles, outside src/gen.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The file's modification time in ms, or undefined if it is missing. */
function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The newest of `files` (and of the .ts files under `dirs`, src/gen excepted): [path, mtime]. */
function newest(root, files, dirs) {
  let best = ["", 0];
  const consider = (file) => {
    const t = mtime(file) ?? 0;
    if (t > best[1]) best = [file, t];
  };
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (full !== join(root, "src", "gen") && e.name !== "node_modules") walk(full);
      } else if (e.name.endsWith(".ts")) consider(full);
    }
  };
  for (const f of files) consider(join(root, f));
  for (const d of dirs) walk(join(root, d));
  return best;
}

/**
 * What is out of date under `root`, each as the reason in a few words, or undefined when current: `gen` (the
 * generated Envoy types in src/gen), `ts` (the compiled tree in dist/) and `ui` (the dashboard's bundle in dist/ui/).
 */
export function staleness(root = repoRoot) {
  const descriptors = join(root, "src", "gen", "envoy-descriptors.binpb");
  const stamp = join(root, "dist", ".build-stamp");
  const rel = (file) => relative(root, file);
  let gen;
  const genAt = mtime(descriptors);
  if (genAt === undefined) gen = "src/gen is missing";
  else {
    const genInputs = ["scripts/gen-protos.mjs", "node_modules/@grpc/grpc-js-xds/package.json", "node_modules/@bufbuild/protoc-gen-es/package.json"];
    const [file, t] = newest(root, genInputs, []);
    if (t > genAt) gen = `${rel(file)} is newer than src/gen`;
  }
  let ts;
  const builtAt = mtime(stamp);
  if (builtAt === undefined) ts = existsSync(join(root, "dist")) ? "dist/ is from an older or unfinished build" : "dist/ is missing";
  else if (gen) ts = "src/gen is being regenerated";
  else {
    const [file, t] = newest(root, ["tsconfig.json", "src/gen/envoy-descriptors.binpb"], ["src", "test", "bench", "examples"]);
    if (t > builtAt) ts = `${rel(file)} changed since the last build`;
  }
  let ui;
  const bundledAt = mtime(join(root, "dist", "ui", "app.js"));
  if (bundledAt === undefined) ui = "dist/ui/ is missing";
  else {
    const [file, t] = newest(root, ["scripts/build.mjs", "package-lock.json", ...uiFiles.map((f) => join("ui", f))], ["ui"]);
    if (t > bundledAt) ui = `${rel(file)} changed since the dashboard was bundled`;
  }
  return { gen, ts, ui };
}

/** The dashboard's files besides its .ts sources. */
const uiFiles = ["index.html", "style.css", "tsconfig.json"];

/**
 * The dashboard: type-checked (ui/tsconfig.json), then bundled into dist/ui/ — app.js (minified, every dependency
 * inside: the page fetches nothing from elsewhere), app.css (ours and uPlot's), index.html. app.js is written last:
 * it is what staleness() compares with.
 */
export function buildUi(root = repoRoot) {
  const require = createRequire(join(root, "package.json"));
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(root, "ui")], { cwd: root, stdio: "inherit" });
  const out = join(root, "dist", "ui");
  mkdirSync(out, { recursive: true });
  const css = [readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"), readFileSync(join(root, "ui", "style.css"), "utf8")];
  writeFileSync(join(out, "app.css"), css.join("\n"));
  cpSync(join(root, "ui", "index.html"), join(out, "index.html"));
  execFileSync(
    process.execPath,
    [
      require.resolve("esbuild/bin/esbuild"),
      join(root, "ui", "app.ts"),
      "--bundle",
      "--minify",
      "--format=esm",
      "--target=es2022",
      "--legal-comments=none",
      "--log-level=warning",
      `--outfile=${join(out, "app.js")}`,
    ],
    { cwd: root, stdio: "inherit" },
  );
}

/** Runs the build steps (all, or those `only` names) in `root`. */
export function build(root = repoRoot, only = { gen: true, ts: true, ui: true }) {
  const require = createRequire(join(root, "package.json"));
  const verbose = process.argv.includes("--verbose") ? ["--verbose"] : [];
  if (only.gen) execFileSync(process.execPath, [join(root, "scripts", "gen-protos.mjs"), ...verbose], { cwd: root, stdio: "inherit" });
  if (only.gen || only.ts) {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "."], { cwd: root, stdio: "inherit" });
    mkdirSync(join(root, "dist", "src", "gen"), { recursive: true });
    cpSync(join(root, "src", "gen", "envoy-descriptors.binpb"), join(root, "dist", "src", "gen", "envoy-descriptors.binpb"));
    writeFileSync(join(root, "dist", ".build-stamp"), `${new Date().toISOString()}\n`);
  }
  if (only.ui) buildUi(root);
}

/** `--if-stale`: builds what is out of date, with one line on stderr saying what and why. */
export function buildIfStale(root = repoRoot) {
  const { gen, ts, ui } = staleness(root);
  if (!gen && !ts && !ui) return false;
  const what = gen ? "the Envoy types and dist/ (about a minute)" : ts ? "dist/ (tsc, about 20 s)" : "the dashboard (dist/ui/, a few seconds)";
  process.stderr.write(`xdsd: building ${what}: ${gen ?? ts ?? ui}\n`);
  build(root, { gen: Boolean(gen), ts: Boolean(ts), ui: Boolean(ui) });
  return true;
}

/**
 * What npm's install warnings about this repository mean, for the end of `npm install` (the prepare script runs
 * last, and npm shows the root package's script output): today, that protoc-gen-es's engine range is no obstacle.
 * (npm's install-scripts warning is answered in package.json's allowScripts: better-sqlite3's build of its native
 * module is needed and allowed; the others are not needed.)
 */
export function installNotes(root = repoRoot, nodeVersion = process.versions.node) {
  const notes = [];
  try {
    const generator = JSON.parse(readFileSync(join(root, "node_modules", "@bufbuild", "protoc-gen-es", "package.json"), "utf8"));
    const wants = /^>=\s*(\d+)/.exec(generator.engines?.node ?? "");
    if (wants && Number(nodeVersion.split(".")[0]) < Number(wants[1])) {
      notes.push(
        `xdsd: npm's EBADENGINE warning for @bufbuild/protoc-gen-es (it asks for node ${generator.engines.node}) can be ignored: ` +
          `it only generates src/gen during the build, and does so on Node ${nodeVersion}; xdsd itself needs Node >=20`,
      );
    }
  } catch {}
  return notes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.env.npm_lifecycle_event === "prepare" && ["install", "ci"].includes(process.env.npm_command ?? "")) {
    for (const note of installNotes()) process.stderr.write(`${note}\n`);
  }
  if (process.argv.includes("--if-stale")) buildIfStale();
  else build();
}
