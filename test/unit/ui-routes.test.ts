// The dashboard's routes (admin/ui-routes.ts): only the bundle's own files are served, with their content types, a
// Content-Security-Policy that keeps the page on its origin, and revalidation by ETag; /ui redirects to /ui/; a
// path outside the bundle (../) is a 404, never a file of the disk; writes are 405.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { UiEvents } from "../../src/admin/ui-events.js";
import { UiRoutes } from "../../src/admin/ui-routes.js";
import { ChangeHistory } from "../../src/daemon/change-history.js";
import { NodeStatuses } from "../../src/server/node-status.js";

test("the bundle's files with content types, CSP and ETags; nothing else from the disk; /ui → /ui/; GET only", async () => {
  const dir = mkdtempSync(join(tmpdir(), "xdsd-ui-routes-"));
  mkdirSync(join(dir, "ui"));
  writeFileSync(join(dir, "ui", "index.html"), "<!doctype html><title>t</title>");
  writeFileSync(join(dir, "ui", "app.js"), "export {};");
  writeFileSync(join(dir, "secret.txt"), "not served");
  const cache = new SnapshotCache();
  const routes = new UiRoutes({
    cache,
    events: new UiEvents({ nodes: new NodeStatuses({ clients: () => [] }) }),
    history: new ChangeHistory({ cache }),
    controlPlaneId: "xdsd@test",
    version: () => "v1",
    bundleDir: pathToFileURL(`${join(dir, "ui")}/`),
  });
  const server = createServer((req, res) => routes.handle(req, res, new URL(req.url!, "http://x").pathname));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const page = await fetch(`${base}/ui/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'.*frame-ancestors 'none'/);
    const etag = page.headers.get("etag")!;
    assert.equal((await fetch(`${base}/ui/`, { headers: { "if-none-match": etag } })).status, 304);
    const script = await fetch(`${base}/ui/app.js`);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await script.text(), "export {};");
    for (const path of ["/ui/../secret.txt", "/ui/%2e%2e/secret.txt", "/ui/secret.txt", "/ui/nothing.js"]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /not served/);
    }
    const moved = await fetch(`${base}/ui`, { redirect: "manual" });
    assert.deepEqual([moved.status, moved.headers.get("location")], [308, "/ui/"]);
    assert.equal((await fetch(`${base}/ui/`, { method: "POST" })).status, 405);
    assert.deepEqual(await (await fetch(`${base}/ui/api/info`)).json(), { controlPlaneId: "xdsd@test", version: "v1" });
    assert.deepEqual(await (await fetch(`${base}/ui/api/changes`)).json(), { entries: [] });
    assert.equal((await fetch(`${base}/ui/api/changes/7`)).status, 404);
  } finally {
    server.close();
  }
});
