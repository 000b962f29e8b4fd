// `?wait=acked` with REST-JSON pollers on a real daemon (issue 18 item 2): a poller that the change does not concern,
// or that already holds the new content, is not waited for (one anonymous CDS poll used to make every endpoint
// write wait its whole timeout and answer 202 naming it); a poller the change concerns is waited for until it polls
// the new version and polls again with it.
import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { poll } from "../support/rest-client.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const token = "test-token-0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "xdsd-wait-rest-"));
const tokenFile = join(dir, "token");
writeFileSync(tokenFile, `${token}\n`);
const config = `clusters:
  - name: web
    endpoints: ["127.0.0.1:8081"]
  - name: other
    endpoints: ["127.0.0.1:8091"]
`;
let xdsd: XdsdHandle;

before(async () => {
  xdsd = await startXdsd(config, { args: ["--admin-token-file", tokenFile] });
});
after(async () => {
  await xdsd?.stop();
});

interface Rollout {
  complete: boolean;
  groups: number;
  settled: number;
  pending: { node: string; service: string }[];
  timedOut: boolean;
}

function put(path: string): Promise<{ status: number; rollout: Rollout }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${xdsd.adminUrl}${path}`,
      { method: "PUT", agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, rollout: JSON.parse(data).rollout }));
      },
    );
    req.on("error", reject);
    req.end("{}");
  });
}

const address = () => `127.0.0.1:${xdsd.xdsPort}`;

test("a REST poller the change does not concern, or that holds the new content, is not waited for", async () => {
  // One anonymous CDS poll, never repeated: it was sent the clusters, and an endpoint change leaves them as they are.
  const cds = await poll(address(), "/v3/discovery:clusters", { node: { id: "anon1", cluster: "x" } });
  assert.equal(cds.status, 200);
  // An EDS poller of "other" that holds its current version: a change to "web" does not concern it.
  const other = await poll(address(), "/v3/discovery:endpoints", { node: { id: "eds-other", cluster: "x" }, resourceNames: ["other"] });
  assert.equal(other.status, 200);
  const held = await poll(address(), "/v3/discovery:endpoints", {
    node: { id: "eds-other", cluster: "x" },
    resourceNames: ["other"],
    versionInfo: other.response!.versionInfo,
  });
  assert.equal(held.status, 304);

  const started = Date.now();
  const write = await put("/v1/clusters/web/endpoints/127.0.0.1:8082?wait=acked&timeout=5s");
  const ms = Date.now() - started;
  assert.equal(write.status, 201, JSON.stringify(write.rollout));
  assert.deepEqual(write.rollout.pending, []);
  assert.equal(write.rollout.timedOut, false);
  assert.ok(ms < 2000, `answered in ${ms} ms, not at the timeout`);
});

test("a REST poller the change concerns is waited for: the write answers once it has polled the new version and ACKed it", async () => {
  const id = { id: "eds-web", cluster: "x" };
  const first = await poll(address(), "/v3/discovery:endpoints", { node: id, resourceNames: ["web"] });
  assert.equal(first.status, 200);
  let version = first.response!.versionInfo;
  // Polls as Envoy does (every 100 ms here), with the version it holds, until told to stop.
  let polling = true;
  const polls = (async () => {
    while (polling) {
      const r = await poll(address(), "/v3/discovery:endpoints", {
        node: id,
        resourceNames: ["web"],
        versionInfo: version,
        typeUrl: TypeUrl.ClusterLoadAssignment,
      });
      if (r.status === 200) version = r.response!.versionInfo;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const before = version;
  const write = await put("/v1/clusters/web/endpoints/127.0.0.1:8083?wait=acked&timeout=5s");
  polling = false;
  await polls;
  assert.equal(write.status, 201, JSON.stringify(write.rollout));
  assert.equal(write.rollout.complete, true);
  assert.ok(write.rollout.settled >= 1, JSON.stringify(write.rollout));
  assert.notEqual(version, before, "the poller was sent the change before the write answered");

  // Without polling again, it is the one the wait gives up on.
  const silent = await put("/v1/clusters/web/endpoints/127.0.0.1:8084?wait=acked&timeout=1s");
  assert.equal(silent.status, 202);
  assert.deepEqual(silent.rollout.pending, [{ node: "x/eds-web", service: "rest-eds" }]);
});
