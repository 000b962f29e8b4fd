// The write API with a real Envoy 1.40 over ADS, driven by the CLI as an operator would: an endpoint registered
// with `xdsd endpoints add` gets traffic within 1 s, `xdsd endpoints drain` stops new requests to it, `xdsd
// endpoints remove` returns only once Envoy has ACKed (and its /clusters no longer lists it); `xdsd get clusters`
// shows what the store holds; `xdsd apply -f` makes the store what a file declares (diff, --dry-run, deletes).
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const token = "e2e-token-0123456789abcdef";

describe("write API, real Envoy", () => {
  let xdsd: XdsdHandle;
  let envoy: EnvoyHandle;
  const upstreams: Upstream[] = [];
  let port = 0;
  let tokenFile = "";
  const cli = (...args: string[]) =>
    runXdsd([...args, "--admin", xdsd.adminUrl, ...(args[0] === "endpoints" || args[0] === "apply" ? ["--token-file", tokenFile] : [])]);

  const api = (method: string, path: string, body?: unknown) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${xdsd.adminUrl}${path}`,
        { method, agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? "" : JSON.stringify(body));
    });
  const hostsOf = async (cluster: string) =>
    (await envoy.clusters()).cluster_statuses.find((c) => c.name === cluster)?.host_statuses?.map((h) => h.address?.socket_address?.port_value) ?? [];

  before(async () => {
    upstreams.push(await startUpstream("web-1"), await startUpstream("web-2"));
    port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "xdsd-api-e2e-"));
    tokenFile = join(dir, "token");
    writeFileSync(tokenFile, token);
    const config = `clusters:
  - name: web
    endpoints: ["${upstreams[0].address}:${upstreams[0].port}"]
listeners:
  - name: l
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: v, domains: ["*"], routes: [{prefix: /, cluster: web}]}]
`;
    xdsd = await startXdsd(config, { args: ["--admin-token-file", join(dir, "token")] });
    envoy = await startEnvoy({ bootstrapYaml: await bootstrapFor(xdsd, "ads", "api-node", await freePort()), name: "write-api" });
    await envoy.waitReady();
  });
  after(async () => {
    await envoy?.stop();
    await xdsd?.stop();
    for (const u of upstreams) await u.close();
  });

  const tally = async (n: number) => Object.fromEntries(await countUpstreams(`http://127.0.0.1:${port}/`, "web.local", n));

  const second = () => `${upstreams[1].address}:${upstreams[1].port}`;
  /** web-2 registered into web (created, or replaced as it is) and ACKed by Envoy: what a test of it starts from. */
  const registerSecond = async () => {
    const status = await api("PUT", `/v1/clusters/web/endpoints/${second()}?wait=acked`, { weight: 1 });
    assert.ok(status === 200 || status === 201, `registering web-2: ${status}`);
  };

  it("an endpoint registered with `xdsd endpoints add` gets traffic within 1 s of the command's answer", async () => {
    assert.deepEqual(await tally(4), { "web-1": 4 });
    const added = await cli("endpoints", "add", "web", second(), "--weight", "1");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /web .* registered \(revision \d+, acknowledged by every proxy concerned\)/);
    const t0 = Date.now();
    await envoy.waitFor(async () => (await tally(2))["web-2"] !== undefined, { what: "web-2 to get traffic", timeoutMs: 1000, intervalMs: 20 });
    assert.ok(Date.now() - t0 <= 1000, `took ${Date.now() - t0} ms`);
    assert.deepEqual(await tally(10), { "web-1": 5, "web-2": 5 });
    const listed = await cli("get", "clusters", "-o", "json");
    assert.equal(listed.code, 0, listed.stderr);
    const [web, ...others] = JSON.parse(listed.stdout) as { name: string; managedBy: string; endpoints: unknown[] }[];
    assert.deepEqual(
      [web?.name, web?.managedBy, web?.endpoints.length, others],
      ["web", "file", 1, []],
      "web is the file's: listed for its registered endpoint",
    );
  });

  it("`xdsd endpoints drain`: no new requests go to it, and Envoy shows it draining", async () => {
    await registerSecond();
    const drained = await cli("endpoints", "drain", "web", second());
    assert.equal(drained.code, 0, drained.stderr);
    await envoy.waitFor(async () => (await tally(4))["web-2"] === undefined, { what: "web-2 to stop getting new requests", timeoutMs: 2000, intervalMs: 20 });
    assert.deepEqual(await tally(10), { "web-1": 10 });
    const clusters = JSON.stringify(await envoy.clusters());
    assert.match(clusters, /"eds_health_status":"DRAINING"/);
  });

  it("`xdsd endpoints remove` returns once Envoy ACKed: its /clusters no longer lists it; a bad request says why in one line", async () => {
    await registerSecond();
    assert.equal((await hostsOf("web")).length, 2);
    const removed = await cli("endpoints", "remove", "web", second());
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /deregistered \(revision \d+, acknowledged by every proxy concerned\)/);
    // No waiting here: the command waited for Envoy's ACK (?wait=acked).
    assert.deepEqual(await hostsOf("web"), [upstreams[0].port]);
    const again = await cli("endpoints", "remove", "web", second());
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^xdsd: 404 not found: no endpoint/);
    assert.equal(await api("PUT", "/v1/clusters/api", { endpoints: [`${upstreams[1].address}:${upstreams[1].port}`] }), 201);
    const table = await cli("get", "clusters");
    assert.match(table.stdout, /^NAME\s+REVISION\s+API ENDPOINTS\s+MANAGED BY\napi\s+\d+\s+0\s+api\n$/);
  });

  it("`xdsd apply -f`: shows the diff, --dry-run changes nothing, then the store becomes what the file declares", async () => {
    const listenerPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "xdsd-apply-"));
    const declared = join(dir, "declared.yaml");
    writeFileSync(
      declared,
      `clusters:
  - name: api
    endpoints: ["${second()}", "${upstreams[0].address}:${upstreams[0].port}"]
listeners:
  - name: l2
    address: 127.0.0.1
    port: ${listenerPort}
    virtual_hosts: [{name: v2, domains: ["*"], routes: [{prefix: /, cluster: api}]}]
`,
    );
    // api exists (created, or replaced as it is): the file replaces it.
    const existing = await api("PUT", "/v1/clusters/api", { endpoints: [second()] });
    assert.ok(existing === 200 || existing === 201, `creating api: ${existing}`);
    const dry = await cli("apply", "-f", declared, "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\+ listener l2$/m);
    assert.match(dry.stdout, /^~ cluster api \(revision \d+\)$/m, "api exists: replaced, not created");
    assert.match(dry.stdout, /dry run: 2 operation\(s\) checked by xdsd, nothing changed/);
    assert.equal(await api("GET", "/v1/listeners/l2"), 404);
    const applied = await cli("apply", "-f", declared);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied: 2 operation\(s\) at revision \d+/);
    // Applied with ?wait=acked: Envoy has the listener now.
    assert.ok(JSON.stringify(await envoy.configDump()).includes('"name":"l2"'), "Envoy has l2");
    await envoy.waitFor(async () => (await countUpstreams(`http://127.0.0.1:${listenerPort}/`, "api.local", 2)).has("web-2"), {
      what: "traffic through l2 to reach web-2",
      timeoutMs: 5000,
      intervalMs: 50,
    });
    const again = await cli("apply", "-f", declared);
    assert.equal(again.stdout, "no changes: the store holds what the file declares\n");
    // A file declaring nothing: the store's objects are deleted (the file's cluster web is the file's, untouched).
    writeFileSync(declared, "clusters: []\n");
    const emptied = await cli("apply", "-f", declared);
    assert.equal(emptied.code, 0, emptied.stderr);
    assert.match(emptied.stdout, /^- cluster api/m);
    assert.match(emptied.stdout, /^- listener l2/m);
    // Envoy keeps a removed listener draining for a while; it is no longer among its listeners.
    assert.ok(
      (await envoy.listeners()).listener_statuses.every((l) => l.name !== "l2"),
      "l2 gone from Envoy's listeners",
    );
    writeFileSync(declared, "clusters: [{name: web, endpoints: []}]\n");
    const clash = await cli("apply", "-f", declared);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /409 managed by the config file/);
  });
});
