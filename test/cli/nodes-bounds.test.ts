// A real daemon under anonymous REST pollers (issue 18 item 1): the node and poller limits are set by their flags,
// what the pollers take stays within --max-rest-poller-bytes however many nodes poll, and GET /nodes answers a page
// at a time with the total (2,000 pollers with 100 kB ids made it a 415 MB answer).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { poll } from "../support/rest-client.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

interface NodesPage {
  nodes: { node: string; services: Record<string, number> }[];
  total: number;
  next?: string;
}

let xdsd: XdsdHandle;

before(async () => {
  // About six pollers with short ids fit in 20,000 bytes (each is counted 3 kB and its strings: rest-poll.ts).
  xdsd = await startXdsd('clusters:\n  - name: web\n    endpoints: ["127.0.0.1:8081"]\n', {
    args: ["--max-node-id-bytes", "64", "--max-rest-poller-bytes", "20000"],
  });
});
after(async () => {
  await xdsd?.stop();
});

const address = () => `127.0.0.1:${xdsd.xdsPort}`;

test("the flags set the node id limit and the pollers' byte budget: many pollers, a bounded number remembered", async () => {
  const refused = await poll(address(), "/v3/discovery:clusters", { node: { id: "i".repeat(65), cluster: "x" } });
  assert.equal(refused.status, 400);
  assert.match(JSON.parse(refused.text).detail, /node\.id is 65 bytes, over the limit of 64 \(--max-node-id-bytes raises it\)/);
  for (let i = 0; i < 20; i++) {
    const r = await poll(address(), "/v3/discovery:clusters", { node: { id: `anon-${String(i).padStart(2, "0")}`, cluster: "x" } });
    assert.equal(r.status, 200);
  }
  const page = (await xdsd.admin<NodesPage>("/nodes")).json;
  assert.ok(page.total >= 3 && page.total <= 6, `${page.total} pollers remembered`);
  assert.equal(page.nodes.at(-1)?.node, "x/anon-19", "the latest poller is remembered");
  assert.match(xdsd.log(), /the pollers remembered take too many bytes/);
});

test("GET /nodes: pages of ?limit= nodes, ?after= the previous page's next, with the total; a bad limit is a 400", async () => {
  const all = (await xdsd.admin<NodesPage>("/nodes")).json;
  assert.ok(all.total >= 3);
  assert.equal(all.next, undefined, "one page holds them all");
  const seen: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < all.total; pages++) {
    const path = `/nodes?limit=2${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`;
    const page = (await xdsd.admin<NodesPage>(path)).json;
    assert.ok(page.nodes.length <= 2);
    assert.equal(page.total, all.total);
    seen.push(...page.nodes.map((n) => n.node));
    after = page.next;
    if (after === undefined) break;
  }
  assert.deepEqual(
    seen,
    all.nodes.map((n) => n.node),
    "the pages together list every node once, in order",
  );
  for (const limit of ["0", "1001", "ten", "1.5"]) {
    const bad = await xdsd.admin<{ detail: string }>(`/nodes?limit=${limit}`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.detail, /limit must be a whole number from 1 to 1000/);
  }
});
