// The import rules of src/ (.dependency-cruiser.cjs, run by `npm run lint`) catch what they are for: a cycle closed
// by type-only imports, and a layer importing one above it. Run on a scratch tree so that src/ itself stays clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-imports-"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(
    process.execPath,
    [
      join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs"),
      "src",
      "--config",
      join(root, ".dependency-cruiser.cjs"),
      "--output-type",
      "err",
    ],
    {
      cwd: dir,
      encoding: "utf8",
    },
  );
  return { status: r.status, output: r.stdout + r.stderr };
}

test("a cycle closed by type-only imports fails the check", () => {
  const r = cruise({
    "src/cache/a.ts": 'import type { B } from "./b.js";\nexport interface A { b?: B }\n',
    "src/cache/b.ts": 'import type { A } from "./a.js";\nexport interface B { a?: A }\n',
  });
  assert.notEqual(r.status, 0, r.output);
  assert.match(r.output, /no-cycle: src\/cache\/a\.ts/);
});

test("a layer importing one above it fails the check; importing one below passes", () => {
  const bad = cruise({
    "src/server/s.ts": 'import type { R } from "../daemon/r.js";\nexport type S = R;\n',
    "src/daemon/r.ts": "export type R = string;\n",
  });
  assert.notEqual(bad.status, 0, bad.output);
  assert.match(bad.output, /layer-server: src\/server\/s\.ts → src\/daemon\/r\.ts/);
  const good = cruise({
    "src/daemon/r.ts": 'import type { S } from "../server/s.js";\nexport type R = S;\n',
    "src/server/s.ts": "export type S = string;\n",
  });
  assert.equal(good.status, 0, good.output);
});
