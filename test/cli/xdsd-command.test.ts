// The `xdsd` command as a user runs it: exit codes and what it prints.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { runXdsd } from "../support/xdsd.js";

const dir = mkdtempSync(join(tmpdir(), "xdsd-cli-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("validate: the seed config is valid, exit 0", async () => {
  const r = await runXdsd(["validate", "--config", "examples/seed.yaml"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /examples\/seed\.yaml: ok \(\{"cds":2,"eds":2,"lds":1,"rds":1\}\)/);
});

test("validate: every error with file:line:column and field path, exit 2", async () => {
  const bad = file(
    "bad.yaml",
    [
      "clusters:",
      "  - name: a",
      '    endpoints: ["300.1.1.1:80"]',
      "  - name: a",
      '    endpoints: ["127.0.0.1:80"]',
      "listeners:",
      "  - name: l",
      "    port: 10000",
      '    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: "/", cluster: nope}]}]',
      "",
    ].join("\n"),
  );
  const r = await runXdsd(["validate", "--config", bad]);
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.at(-1), `${lines.length - 1} errors`);
  assert.ok(lines.some((l) => l.startsWith(`${bad}:3:17 (clusters[0].endpoints[0]): `) && l.includes("300.1.1.1")), r.stderr);
  assert.ok(lines.some((l) => l.startsWith(`${bad}:4:`) && /duplicate|already/i.test(l)), r.stderr);
  assert.ok(lines.some((l) => l.startsWith(`${bad}:9:`) && l.includes('"nope"')), r.stderr);
});

test("validate: malformed YAML is reported with its position, exit 2", async () => {
  const r = await runXdsd(["validate", "--config", file("broken.yaml", "clusters:\n  - name: [unclosed\n")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.yaml:\d+:\d+/);
});

test("validate: a missing file is a clear error, exit 2", async () => {
  const r = await runXdsd(["validate", "--config", join(dir, "absent.yaml")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /absent\.yaml/);
});

test("bootstrap: eds and ads modes print Envoy bootstraps pointing at the given xDS address", async () => {
  for (const mode of ["eds", "ads"]) {
    const r = await runXdsd(["bootstrap", "--node-id", "n0", "--node-cluster", "c0", "--mode", mode, "--xds", "127.0.0.1:18123"]);
    assert.equal(r.code, 0, r.stderr);
    const boot = parse(r.stdout);
    assert.deepEqual(boot.node, { id: "n0", cluster: "c0" });
    assert.match(JSON.stringify(boot.static_resources.clusters), /"port_value":18123/);
    if (mode === "ads") assert.equal(boot.dynamic_resources.ads_config.api_type, "GRPC");
    else assert.equal(boot.static_resources.listeners[0].name, "listener_0");
  }
});

test("usage errors exit 2 and show the usage", async () => {
  const r = await runXdsd(["serve"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--config is required/);
  const bad = await runXdsd(["bootstrap", "--node-id", "a", "--node-cluster", "b", "--mode", "rest"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--mode "rest"/);
  const unknown = await runXdsd(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command/);
});

test("serve: an invalid config at start is refused with its errors, exit 2", async () => {
  const r = await runXdsd(["serve", "--config", file("bad-start.yaml", "clusters: 5\n"), "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad-start\.yaml:1:\d+ \(clusters\)/);
});
