// The published package (package.json files and exports): `npm pack` holds what the library and the command need
// at runtime and nothing else, and a project that installs the tarball can import `xdsd`, a generated Envoy type
// from its subpath, and run the `xdsd` command. Dependencies come from the npm registry (or npm's cache).
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../support/processes.js";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
// Run under `npm test`, the environment says which project npm is in (npm_config_local_prefix and the like): a
// child npm must see only the scratch project.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));

function run(command: string, args: string[], options: SpawnSyncOptions & { timeout: number }) {
  const r = spawnSync(command, args, { encoding: "utf8", env, ...options });
  const what = `${command} ${args.join(" ")}`;
  assert.equal(r.error, undefined, `${what}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

test("npm pack, installed into a scratch project: xdsd, a generated type's subpath and the command work", { timeout: 480_000 }, () => {
  const root = repoRoot();
  const dir = mkdtempSync(join(tmpdir(), "xdsd-pack-"));
  try {
    // --ignore-scripts: the tests run from a built tree; prepare would only check that (build.mjs --if-stale).
    const packed = run(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], { cwd: root, timeout: 60_000 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    for (const needed of [
      "package.json",
      "README.md",
      "bin/xdsd.js",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/cli/main.js",
      "dist/src/daemon/config-worker.js",
      "dist/src/gen/envoy-descriptors.binpb",
      "dist/src/gen/envoy/config/cluster/v3/cluster_pb.js",
      "dist/src/gen/envoy/config/cluster/v3/cluster_pb.d.ts",
      "schema/xdsd-config.schema.json",
      "examples/seed.yaml",
    ]) {
      assert.ok(files.includes(needed), `the tarball has ${needed}`);
    }
    const unwanted = files.filter(
      (f) => /^(src|test|bench|scripts|dist\/test|dist\/bench|dist\/examples)\//.test(f) || f.endsWith(".map") || /(^|\/)[^/]+(?<!\.d)\.ts$/.test(f),
    );
    assert.deepEqual(unwanted, [], "no tests, TypeScript sources, benchmarks, build scripts or source maps");

    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch", version: "1.0.0", private: true, type: "module" }));
    // better-sqlite3 is compiled here (its prebuilt binaries are on GitHub, out of reach): about 2 minutes on 2 idle
    // cores, and the suite runs two test files at once.
    const installed = run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, info!.filename)], { cwd: dir, timeout: 360_000 });
    assert.doesNotMatch(installed.stderr, /EBADENGINE/, "a user installs none of the build's tools");

    writeFileSync(
      join(dir, "use.js"),
      [
        'import { SnapshotCache, TypeUrl, envoyRegistry, parseConfig, snapshotsOf } from "xdsd";',
        'import { ClusterSchema } from "xdsd/envoy/config/cluster/v3/cluster_pb";',
        'import { ListenerSchema } from "xdsd/envoy/config/listener/v3/listener_pb.js";',
        'const config = parseConfig("clusters: [{name: a, endpoints: [\\"10.0.0.1:80\\"]}]\\n", "inline.yaml");',
        "const cache = new SnapshotCache();",
        "console.log(ClusterSchema.typeName, ListenerSchema.typeName, TypeUrl.Cluster,",
        "  envoyRegistry().getMessage(ClusterSchema.typeName) !== undefined, JSON.stringify(snapshotsOf(config).defaults.summary()), typeof cache.setSnapshot);",
      ].join("\n"),
    );
    const used = run(process.execPath, ["use.js"], { cwd: dir, timeout: 30_000 });
    assert.equal(
      used.stdout,
      'envoy.config.cluster.v3.Cluster envoy.config.listener.v3.Listener type.googleapis.com/envoy.config.cluster.v3.Cluster true {"cds":1,"eds":1} function\n',
    );

    // The types resolve through the exports too (what a TypeScript user of the library sees).
    writeFileSync(
      join(dir, "use-types.ts"),
      'import type { Cluster } from "xdsd/envoy/config/cluster/v3/cluster_pb";\nimport type { Logger } from "xdsd";\nexport const n: Cluster["name"] = "a";\nexport const l: Logger | undefined = undefined;\n',
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["use-types.ts"],
      }),
    );
    run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "."], { cwd: dir, timeout: 60_000 });

    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version as string;
    assert.equal(run(join(dir, "node_modules", ".bin", "xdsd"), ["--version"], { cwd: dir, timeout: 30_000 }).stdout, `xdsd ${version}\n`);
    const validated = run(join(dir, "node_modules", ".bin", "xdsd"), ["validate", "--config", join(dir, "node_modules", "xdsd", "examples", "seed.yaml")], {
      cwd: dir,
      timeout: 30_000,
    });
    assert.match(validated.stdout, /seed\.yaml: ok/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
