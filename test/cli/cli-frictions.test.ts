// What a new user hit with the commands (issue 18, items 13–15 and 17–19), each against a real daemon: usage errors
// that say the one thing wrong, registrations seen where a cluster's endpoints are looked for, apply's errors located
// in the applied file before any diff, the CLI's own words for a missing token, no acknowledgement claimed that no
// proxy gave, and a bootstrap error that says what to write where.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { freePort } from "../support/ports.js";
import { RawXdsClient } from "../support/xds-client.js";
import { runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const dir = mkdtempSync(join(tmpdir(), "xdsd-frictions-"));
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, "frictions-token-0123456789\n");
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
let xdsd: XdsdHandle;

before(async () => {
  const config = `clusters:
  - name: web
    endpoints: ["127.0.0.1:8081"]
listeners:
  - name: l
    address: 127.0.0.1
    port: ${await freePort()}
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;
  xdsd = await startXdsd(config, { args: ["--admin-token-file", tokenFile] });
});
after(async () => {
  await xdsd?.stop();
});

/** The CLI against the test's daemon; a write with its token file unless `token` names another (or null: none). */
const cli = (args: string[], token: string | null = tokenFile) =>
  runXdsd([...args, "--admin", xdsd.adminUrl, ...(token === null || args[0] === "get" ? [] : ["--token-file", token])]);

test("a usage error prints the error, the command's synopsis and where its help is, not every command's usage (item 14)", async () => {
  const serve = await runXdsd(["serve"]);
  assert.equal(serve.code, 2);
  const lines = serve.stderr.trimEnd().split("\n");
  assert.equal(lines[0], "xdsd: --config is required");
  assert.match(lines[1], /^usage: xdsd serve --config FILE /);
  assert.equal(lines.at(-1), "see `xdsd serve --help`");
  assert.ok(lines.length <= 6, serve.stderr); // the error, the synopsis (three lines), where the help is
  assert.doesNotMatch(serve.stderr, /xdsd validate|xdsd bootstrap|Limits/, "no other command's usage");

  const get = await runXdsd(["get", "widgets"]);
  assert.equal(get.code, 2);
  assert.equal(
    get.stderr,
    [
      'xdsd: "widgets" is not something get lists: clusters, listeners, resources, node-groups, endpoints',
      "usage: xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml] [--admin URL] [--admin-ca FILE [--admin-cert FILE --admin-key FILE]] [--token-file FILE]",
      "       xdsd get endpoints [CLUSTER] [-o table|json|yaml] [--admin URL] [--admin-ca FILE [--admin-cert FILE --admin-key FILE]] [--token-file FILE]",
      "see `xdsd get --help`",
      "",
    ].join("\n"),
  );
  const endpoints = await runXdsd(["endpoints", "add", "web"]);
  assert.equal(endpoints.code, 2);
  assert.match(endpoints.stderr, /^xdsd: expected an endpoint HOST:PORT\nusage: xdsd endpoints add\|remove\|drain CLUSTER HOST:PORT /);
  const unknown = await runXdsd(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'xdsd: unknown command "frobnicate" (commands: serve, validate, bootstrap, endpoints, get, apply, status)\nsee `xdsd --help`\n');
});

test("a write without the token says how the CLI takes one: --token-file or XDSD_ADMIN_TOKEN_FILE (item 17)", async () => {
  const missing = await cli(["endpoints", "add", "web", "10.0.0.1:80"], null);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^xdsd: 401 unauthorized: .*--token-file FILE, or set XDSD_ADMIN_TOKEN_FILE=FILE\n$/);
  assert.doesNotMatch(missing.stderr, /Authorization|Bearer/, "an HTTP header is not what a CLI user can set");
  const wrong = await cli(["endpoints", "add", "web", "10.0.0.1:80"], file("wrong-token", "not-the-token-0123456789\n"));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^xdsd: 401 unauthorized: the token in the file of --token-file .* is not one of the tokens xdsd serve was given/);
});

test("an endpoint write no connected proxy takes is not reported as acknowledged (item 18)", async () => {
  const none = await cli(["endpoints", "add", "web", "10.0.0.2:80"]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /^web 10\.0\.0\.2:80 registered \(revision \d+; no connected proxy uses it\)\n$/, "no proxy connected");

  // A proxy connected, but subscribed to the clusters only, not to web's endpoints: it takes nothing of the change.
  const clustersOnly = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
  clustersOnly.send({ node: { id: "cds-only", cluster: "frictions" }, typeUrl: TypeUrl.Cluster });
  clustersOnly.ack(await clustersOnly.next());
  const unused = await cli(["endpoints", "add", "web", "10.0.0.3:80"]);
  assert.equal(unused.code, 0, unused.stderr);
  assert.match(unused.stdout, /registered \(revision \d+; no connected proxy uses it\)\n$/, "a proxy that does not use web's endpoints");

  // One that does, and ACKs: now it is acknowledged.
  const user = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
  user.send({ node: { id: "eds-user", cluster: "frictions" }, typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["web"] });
  user.ack(await user.next(), ["web"]);
  let done = false;
  const acking = (async () => {
    while (!done) {
      const r = await user.next(200).catch(() => undefined);
      if (r) user.ack(r, ["web"]);
    }
  })();
  const used = await cli(["endpoints", "remove", "web", "10.0.0.3:80"]);
  assert.equal(used.code, 0, used.stderr);
  assert.match(used.stdout, /^web 10\.0\.0\.3:80 deregistered \(revision \d+, acknowledged by every proxy concerned\)\n$/);
  done = true;
  await acking;
  user.close();
  clustersOnly.close();
  assert.equal((await cli(["endpoints", "remove", "web", "10.0.0.2:80"])).code, 0);
});

test("endpoints registered into a file's cluster are listed by get clusters, get endpoints and GET /v1/clusters (item 13)", async () => {
  assert.equal((await cli(["endpoints", "add", "web", "10.0.0.7:80", "--weight", "2"])).code, 0);
  const listed = await xdsd.admin<{ clusters: { name: string; managedBy: string; location: { file: string; path: string }; endpoints: unknown[] }[] }>(
    "/v1/clusters",
  );
  const web = listed.json.clusters.find((c) => c.name === "web");
  assert.ok(web, JSON.stringify(listed.json));
  assert.deepEqual([web.managedBy, web.location.file, web.location.path, web.endpoints.length], ["file", xdsd.configPath, "clusters[0]", 1]);

  const clusters = await cli(["get", "clusters"]);
  assert.equal(clusters.code, 0, clusters.stderr);
  assert.match(clusters.stdout, /^NAME\s+REVISION\s+API ENDPOINTS\s+MANAGED BY\nweb\s+-\s+1\s+\S+xdsd\.yaml\S* \(clusters\[0\]\)\n$/);

  const endpoints = await cli(["get", "endpoints"]);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  assert.match(endpoints.stdout, /^CLUSTER\s+ENDPOINT\s+REVISION\s+WEIGHT\s+HEALTH\s+EXPIRES\nweb\s+10\.0\.0\.7:80\s+\d+\s+2\s+-\s+-\n$/);
  const one = await cli(["get", "endpoints", "web", "-o", "json"]);
  assert.equal(one.code, 0, one.stderr);
  const [registration, ...more] = JSON.parse(one.stdout) as Record<string, unknown>[];
  assert.deepEqual(more, []);
  assert.deepEqual([registration.cluster, registration.endpoint, registration.weight], ["web", "10.0.0.7:80", 2]);
  const nowhere = await cli(["get", "endpoints", "nope"]);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /404 not found: no cluster "nope"/);

  // apply leaves the file's cluster alone: it is listed, but it is not the store's to delete.
  const applied = await cli(["apply", "-f", file("nothing.yaml", "clusters: []\n")]);
  assert.equal(applied.stdout, "no changes: the store holds what the file declares\n", applied.stderr);
  assert.equal((await cli(["endpoints", "remove", "web", "10.0.0.7:80"])).code, 0);
});

test("apply: an error is located in FILE, and no diff is printed for a change that is refused (item 15)", async () => {
  const declared = file(
    "declared.yaml",
    [
      "clusters:",
      "  - name: api",
      '    endpoints: ["10.0.0.5:8080"]',
      "listeners:",
      "  - name: listener_api",
      "    port: 70000",
      '    virtual_hosts: [{name: v, domains: ["api.local"], routes: [{prefix: /, cluster: api}]}]',
      "",
    ].join("\n"),
  );
  const r = await cli(["apply", "-f", declared]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "", "no diff for what will not be applied");
  assert.match(r.stderr, /^xdsd: 422 the config would be invalid: /);
  assert.match(r.stderr, new RegExp(`\\n  ${declared.replaceAll(".", "\\.")}:6:11 \\(listeners\\[0\\]\\.port\\): .*65535`), r.stderr);
  assert.doesNotMatch(r.stderr, /store \(/, "the store's path of an object is not where the user wrote it");

  const malformed = await cli(["apply", "-f", file("malformed.yaml", "clusters:\n  - endpoints: []\nlisteners: {}\nroutes: []\n")]);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /malformed\.yaml:2:5 \(clusters\[0\]\): must be a mapping with a name\n/);
  assert.match(malformed.stderr, /malformed\.yaml:3:\d+ \(listeners\): listeners must be a list\n/);
  assert.match(malformed.stderr, /malformed\.yaml:4:1 \(routes\): apply declares clusters, listeners, resources and nodes; not routes\n/);
});

test("bootstrap --mode xds says what to write where, with or without --config (item 19)", async () => {
  const without = await runXdsd(["bootstrap", "--mode", "xds", "--node-id", "n", "--node-cluster", "c"]);
  assert.equal(without.code, 2);
  assert.match(without.stderr, /without --config there is no config .*: pass --config with the file xdsd serve.*`config_source: grpc` at its top level/);
  assert.doesNotMatch(without.stderr, /\(no config\)/);
  const ads = file("ads.yaml", "clusters: []\n");
  const top = await runXdsd(["bootstrap", "--mode", "xds", "--node-id", "n", "--node-cluster", "c", "--config", ads]);
  assert.equal(top.code, 2);
  assert.match(
    top.stderr,
    new RegExp(`but the top level of ${ads.replaceAll(".", "\\.")} has config_source: ads \\(the default\\): write \`config_source: grpc\` there`),
  );
  const group = file("group.yaml", "clusters: []\nnodes:\n  c/n: {config_source: rest}\n");
  const inGroup = await runXdsd(["bootstrap", "--mode", "xds", "--node-id", "n", "--node-cluster", "c", "--config", group]);
  assert.equal(inGroup.code, 2);
  assert.match(inGroup.stderr, /but the node's group "c\/n" \(under nodes:\) in \S+group\.yaml has config_source: rest: write `config_source: grpc` there/);
});
