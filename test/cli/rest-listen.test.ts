// `xdsd serve --rest-listen`: REST-JSON polling on a port of its own, beside the xDS port (which serves it too).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { poll } from "../support/rest-client.js";
import { node } from "../support/resources.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

let xdsd: XdsdHandle | undefined;
after(async () => {
  await xdsd?.stop();
});

test("serve --rest-listen answers polls on its own port with what the xDS port answers", async () => {
  xdsd = await startXdsd('clusters: [{name: a, endpoints: ["127.0.0.1:8080"]}]\n', { args: ["--rest-listen", "127.0.0.1:0"] });
  const line = await xdsd.waitForLog(/REST-JSON polling also on 127\.0\.0\.1:(\d+)/, 5000);
  const restPort = Number(/REST-JSON polling also on 127\.0\.0\.1:(\d+)/.exec(line)![1]);
  assert.notEqual(restPort, xdsd.xdsPort);
  const own = await poll(`127.0.0.1:${restPort}`, "/v3/discovery:clusters", { node: node("rest-cli") });
  const shared = await poll(`127.0.0.1:${xdsd.xdsPort}`, "/v3/discovery:clusters", { node: node("rest-cli") });
  assert.equal(own.status, 200);
  assert.deepEqual(
    own.response!.resources.map((r) => Buffer.from(r.value).toString("hex")),
    shared.response!.resources.map((r) => Buffer.from(r.value).toString("hex")),
  );
  assert.equal(own.response!.versionInfo, shared.response!.versionInfo);
});
