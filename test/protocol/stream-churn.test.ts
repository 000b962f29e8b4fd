// Opening and closing thousands of streams leaves nothing behind: no live calls, no watches, no node entries, and
// the heap back near its baseline (go-control-plane issue #597: memory never freed after proxies left).
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, node } from "../support/resources.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

test("3 rounds of 1,000 streams opened and closed free all per-stream state", { timeout: 120_000 }, async () => {
  const cache = new SnapshotCache();
  const names = Array.from({ length: 50 }, (_, i) => `c${i}`);
  cache.setDefaultSnapshot(Snapshot.from(names.flatMap((n, i) => [edsCluster(n), endpoints(n, `10.0.0.${i + 1}:80`)])));
  const server = new XdsServer({ cache });
  const nodes = new NodeStatuses(server);
  const address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;

  const round = async (n: number) => {
    const clients = Array.from({ length: n }, () => new RawXdsClient(address));
    for (const [i, c] of clients.entries()) c.send({ node: node(`churn-${i}`), typeUrl: TypeUrl.Cluster });
    await Promise.all(clients.map((c) => c.next(20_000)));
    assert.equal(server.streams().length, n);
    assert.equal(cache.watchedKeyCount(), n);
    for (const c of clients) c.close();
    const deadline = Date.now() + 20_000;
    while (server.streams().length > 0 || cache.watchedKeyCount() > 0 || nodes.list().length > 0) {
      assert.ok(Date.now() < deadline, `still ${server.streams().length} streams, ${cache.watchedKeyCount()} watches, ${nodes.list().length} nodes`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await round(1000); // warm up: JIT, pools, lazily created structures
  const baseline = await settledHeap();
  await round(1000);
  await round(1000);
  const after = await settledHeap();
  await server.close(500);
  const growth = (after - baseline) / baseline;
  assert.ok(growth < 0.1, `heap grew ${(growth * 100).toFixed(1)}% (${baseline} → ${after} bytes)`);
});
