// The `xdsd` command as a user runs it: exit codes and what it prints.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { runXdsd, startXdsd } from "../support/xdsd.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { repoRoot } from "../support/processes.js";

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
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}:3:17 (clusters[0].endpoints[0]): `) && l.includes("300.1.1.1")),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}:4:`) && /duplicate|already/i.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => l.startsWith(`${bad}:9:`) && l.includes('"nope"')),
    r.stderr,
  );
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

test("bootstrap --xds H:P,H:P: every replica in Envoy's xds_cluster and in gRPC's xds_servers, in order (issue 20)", async () => {
  const replicas = "127.0.0.1:18123, [::1]:18124,xdsd.internal:18125";
  const envoy = await runXdsd(["bootstrap", "--node-id", "n0", "--node-cluster", "c0", "--mode", "delta-ads", "--xds", replicas]);
  assert.equal(envoy.code, 0, envoy.stderr);
  const endpoints = parse(envoy.stdout).static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints;
  assert.deepEqual(
    endpoints.map((e: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }) => e.endpoint.address.socket_address),
    [
      { address: "127.0.0.1", port_value: 18123 },
      { address: "::1", port_value: 18124 },
      { address: "xdsd.internal", port_value: 18125 },
    ],
  );
  const grpc = await runXdsd(["bootstrap", "--grpc", "--node-id", "g0", "--node-cluster", "c0", "--xds", replicas]);
  assert.equal(grpc.code, 0, grpc.stderr);
  assert.deepEqual(
    JSON.parse(grpc.stdout).xds_servers.map((s: { server_uri: string }) => s.server_uri),
    ["127.0.0.1:18123", "[::1]:18124", "xdsd.internal:18125"],
  );
  const bad = await runXdsd(["bootstrap", "--node-id", "n0", "--node-cluster", "c0", "--mode", "ads", "--xds", "127.0.0.1:18123,"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^xdsd: --xds "": expected HOST:PORT/);
});

test("bootstrap --grpc: a gRPC xDS bootstrap (JSON); Envoy's flags refused with it, --locality without it", async () => {
  const r = await runXdsd(["bootstrap", "--grpc", "--node-id", "g0", "--node-cluster", "c0", "--xds", "127.0.0.1:18123", "--locality", "zone=z1"]);
  assert.equal(r.code, 0, r.stderr);
  const boot = JSON.parse(r.stdout);
  assert.deepEqual(boot.node, { id: "g0", cluster: "c0", locality: { zone: "z1" } });
  assert.equal(boot.xds_servers[0].server_uri, "127.0.0.1:18123");
  assert.equal(boot.server_listener_resource_name_template, "grpc/server?xds.resource.listening_address=%s");
  for (const flag of [
    ["--mode", "ads"],
    ["--admin-port", "9901"],
  ]) {
    const bad = await runXdsd(["bootstrap", "--grpc", "--node-id", "g", "--node-cluster", "c", ...flag]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, new RegExp(`xdsd: ${flag[0]} is for Envoy bootstraps; --grpc writes a gRPC one\nusage: xdsd bootstrap`));
  }
  const locality = await runXdsd(["bootstrap", "--mode", "ads", "--node-id", "g", "--node-cluster", "c", "--locality", "zone=z1"]);
  assert.equal(locality.code, 2);
  assert.match(locality.stderr, /--locality is for gRPC bootstraps \(--grpc\)/);
});

test("usage errors exit 2 and show the usage", async () => {
  const r = await runXdsd(["serve"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--config is required/);
  const bad = await runXdsd(["bootstrap", "--node-id", "a", "--node-cluster", "b", "--mode", "carrier-pigeon"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--mode "carrier-pigeon"/);
  const unknown = await runXdsd(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command/);
});

test("serve: an invalid config at start is refused with its errors, exit 2", async () => {
  const r = await runXdsd(["serve", "--config", file("bad-start.yaml", "clusters: 5\n"), "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad-start\.yaml:1:\d+ \(clusters\)/);
});

test("validate: aliases, nesting and size over the limits are located errors, exit 2, no stack trace", async () => {
  const laughs = [
    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]",
    ...["b", "c", "d", "e", "f", "g", "h", "i"].map(
      (k, i, all) =>
        `${k}: &${k} [${Array(9)
          .fill(`*${i === 0 ? "a" : all[i - 1]}`)
          .join(",")}]`,
    ),
  ].join("\n");
  const cases: [string, string, string[], RegExp][] = [
    ["unanchored.yaml", "clusters: *a\n", [], /unanchored\.yaml:1:11: alias \*a has no anchor &a before it/],
    [
      "laughs.yaml",
      `${laughs}\n`,
      [],
      /laughs\.yaml:7:\d+: aliases expand to more than 1000000 nodes in all, the limit \(--max-config-alias-nodes raises it\)/,
    ],
    ["deep.yaml", `clusters: ${"[".repeat(10_000)}\n`, [], /deep\.yaml:1:\d+: nesting is deeper than 100 levels, the limit \(--max-config-depth raises it\)/],
    [
      "big.yaml",
      `clusters: []\n${"#".repeat(2000)}\n`,
      ["--max-config-bytes", "1000"],
      /big\.yaml: the config is 2014 bytes, over the limit of 1000 \(--max-config-bytes raises it\)/,
    ],
  ];
  for (const [name, text, flags, expected] of cases) {
    const r = await runXdsd(["validate", "--config", file(name, text), ...flags]);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
  const reused = [
    "clusters:",
    '  - {name: c0, endpoints: &eps ["127.0.0.1:80"]}',
    ...Array.from({ length: 2000 }, (_, i) => `  - {name: c${i + 1}, endpoints: *eps}`),
  ].join("\n");
  const ok = await runXdsd(["validate", "--config", file("reused.yaml", `${reused}\n`)]);
  assert.equal(ok.code, 0, ok.stderr);
  const badFlag = await runXdsd(["validate", "--config", file("x.yaml", "clusters: []\n"), "--max-config-depth", "0"]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--max-config-depth "0": expected a positive whole number/);
});

test("--version, and --help for every command, exit 0", async () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version: string };
  const v = await runXdsd(["--version"]);
  assert.deepEqual([v.code, v.stdout], [0, `xdsd ${pkg.version}\n`]);
  for (const command of ["serve", "validate", "bootstrap", "endpoints", "get", "apply"]) {
    const r = await runXdsd([command, "--help"]);
    assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage:\\n  xdsd ${command} `));
    assert.equal(r.stderr, "");
  }
});

test("bootstrap in an ADS mode needs no config file, outside the repository too", async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), "xdsd-cwd-"));
  const r = await runXdsd(["bootstrap", "--node-id", "n", "--node-cluster", "c", "--mode", "delta-ads"], { cwd: elsewhere });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /api_type: DELTA_GRPC/);
  const eds = await runXdsd(["bootstrap", "--node-id", "n", "--node-cluster", "c"], { cwd: elsewhere });
  assert.equal(eds.code, 2, "eds mode still reads the seed by default, and says where it looked");
  assert.match(eds.stderr, /examples\/seed\.yaml/);
});

test("endpoints and get: usage errors exit 2; an unreachable daemon is one line and exit 1", async () => {
  const usage = await runXdsd(["endpoints", "add", "web"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /expected an endpoint HOST:PORT\nusage: xdsd endpoints add\|remove\|drain CLUSTER HOST:PORT/);
  const badKind = await runXdsd(["get", "widgets"]);
  assert.equal(badKind.code, 2);
  const down = await runXdsd(["get", "clusters", "--admin", "http://127.0.0.1:9"]);
  assert.equal(down.code, 1);
  assert.equal(down.stderr, "xdsd: unreachable: cannot reach xdsd's admin API at http://127.0.0.1:9: connection refused (is xdsd serve running?)\n");
});

test("serve --store sqlite:DIR keeps the API's objects in DIR; --store with --data-dir, a bad URL, an etcd option on SQLite, or a bad etcd timing: exit 2", async () => {
  const tokenFile = file("store-token", "store-token-0123456789abcdef\n");
  const config = file("store.yaml", 'clusters:\n  - name: web\n    endpoints: ["127.0.0.1:8081"]\n');
  const storeDir = join(dir, "store-url-data");
  const xdsd = await startXdsd(readFileSync(config, "utf8"), { args: ["--admin-token-file", tokenFile, "--store", `sqlite:${storeDir}`] });
  try {
    const res = await fetch(`${xdsd.adminUrl}/v1/clusters/api`, {
      method: "PUT",
      headers: { authorization: "Bearer store-token-0123456789abcdef", "content-type": "application/json" },
      body: JSON.stringify({ endpoints: ["127.0.0.1:9001"] }),
    });
    assert.equal(res.status, 201, await res.text());
  } finally {
    await xdsd.stop();
  }
  const store = SqliteStore.open(storeDir);
  try {
    assert.deepEqual((await store.get("cluster", "api"))?.value, { endpoints: ["127.0.0.1:9001"] });
  } finally {
    await store.close();
  }
  const serve = ["serve", "--config", config, "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"];
  for (const [args, expected] of [
    [["--store", `sqlite:${storeDir}`, "--data-dir", storeDir], /--store and --data-dir both name the store: give one/],
    [["--store", "postgres://db:5432"], /store "postgres:\/\/db:5432": unknown kind of store; expected sqlite:DIR or etcd:\/\/HOST:PORT/],
    [["--store", `sqlite:${storeDir}`, "--etcd-prefix", "/x/"], /etcdPrefix apply to an etcd:\/\/ store only/],
    [["--store", `sqlite:${storeDir}`, "--leader-lease-ttl", "5"], /--leader-lease-ttl applies to an etcd:\/\/ store only/],
    [["--store", "etcd://127.0.0.1:1", "--etcd-timeout", "0"], /--etcd-timeout "0": expected a positive whole number/],
  ] as const) {
    const r = await runXdsd([...serve, ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, expected);
  }
});
