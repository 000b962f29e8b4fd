// The dashboard with a fleet connected (issue 22): `node dist/bench/ui-fleet.js [--clients 1000] [--clusters 20]
// [--changes 5]` (after `npm run build`; needs chromium, scripts/install-chromium.mjs). Runs the real `xdsd serve`
// (pinned to CPU 0 with taskset when present) on a config of scenario A's shape, connects N ADS clients (the daemon
// benches' simulated proxies, bench/harness/lib/eds-clients.ts, in this process) that ACK at once, opens the Fleet
// page in headless Chromium at 1366×768, and measures:
//   - first render: from the navigation's start until the counts cover every client and the first rows are shown
//     (the page's own clock; the table renders 100 rows at first);
//   - a live update, per change: from the rename of the config file (one cluster's endpoints moved) until every
//     shown row's EDS cell has the new version ACKed and the counts say every proxy is synced, without a reload
//     (the page follows /ui/events);
//   - the longest task the page's main thread ran meanwhile (PerformanceObserver "longtask"): how long the page
//     was unresponsive at worst;
//   - sorting: from a click on a column's header until the new order is painted, every sortable column, both ways.
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { launchBrowser, openPage } from "../test/support/browser.js";
import { shortFormConfig } from "./harness/lib/daemon-config.js";
import { describe, startBenchDaemon } from "./harness/lib/daemon-process.js";
import { connectEdsClients } from "./harness/lib/eds-clients.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    clusters: { type: "string", default: "20" },
    changes: { type: "string", default: "5" },
  },
});
const clientCount = Number(values.clients);
const clusters = Number(values.clusters);
const changes = Number(values.changes);

const dir = mkdtempSync(join(tmpdir(), "xdsd-ui-bench-"));
const configPath = join(dir, "xdsd.yaml");
writeFileSync(configPath, shortFormConfig(clusters, 2, 0));
const daemon = await startBenchDaemon(["--config", configPath, "--data-dir", join(dir, "data")]);
const names = Array.from({ length: clusters }, (_, i) => `c${i}`);
const started = performance.now();
const clients = await connectEdsClients(daemon.xdsPort, clientCount, names);
console.log(
  `${clientCount} clients connected in ${((performance.now() - started) / 1000).toFixed(1)} s${daemon.pinned ? " (daemon on CPU 0, clients on CPU 1)" : ""}`,
);

const browser = await launchBrowser();
const { page, errors } = await openPage(browser);
await page.addInitScript(() => {
  const w = window as unknown as { longest: number; renderedAt?: number };
  w.longest = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.longest = Math.max(w.longest, e.duration);
  }).observe({ type: "longtask", buffered: true });
  window.addEventListener("xdsd:updated", (e) => {
    const rows = document.querySelectorAll("tr[data-node]").length;
    if (w.renderedAt === undefined && rows > 0 && (e as CustomEvent<{ nodes: number }>).detail.nodes > 0) w.renderedAt = performance.now();
  });
});
await page.goto(`http://127.0.0.1:${daemon.adminPort}/ui/`);
await page.waitForFunction((n) => document.querySelector('[data-count="total"]')?.textContent === String(n), clientCount, { timeout: 60_000, polling: 50 });
const firstRender = await page.evaluate(() => (window as unknown as { renderedAt: number }).renderedAt);
const firstLongest = await page.evaluate(() => (window as unknown as { longest: number }).longest);
console.log(`first render of ${clientCount} proxies: ${firstRender.toFixed(0)} ms after navigation start; longest task ${firstLongest.toFixed(0)} ms`);

// Sorting: each sortable column's header clicked, twice (ascending, then descending), on all N rows; from the click
// until the header says the new order and the next frame is painted (the table re-rendered with the first rows).
const sorts = await page.evaluate(async () => {
  const out: number[] = [];
  const headers = [...document.querySelectorAll<HTMLTableCellElement>("th[aria-sort]")];
  for (let round = 0; round < 2; round++) {
    for (const th of headers) {
      const before = th.getAttribute("aria-sort");
      const started = performance.now();
      th.querySelector("button")!.click();
      await new Promise<void>((resolve) => {
        const check = () => (th.getAttribute("aria-sort") !== before ? requestAnimationFrame(() => resolve()) : requestAnimationFrame(check));
        check();
      });
      out.push(performance.now() - started);
    }
  }
  return out;
});
console.log(`sort ${clientCount} rows by a column (click → the new order painted), ${sorts.length} sorts: ${describe(sorts, 0)} ms`);

const updates: number[] = [];
const longest: number[] = [];
for (let change = 1; change <= changes; change++) {
  const before = await page.evaluate(() => document.querySelector('tr[data-node] td[data-type="eds"]')?.getAttribute("data-acked") ?? "");
  await page.evaluate(() => void ((window as unknown as { longest: number }).longest = 0));
  const tmp = `${configPath}.tmp`;
  writeFileSync(tmp, shortFormConfig(clusters, 2, change));
  const at = Date.now();
  renameSync(tmp, configPath);
  await page.waitForFunction(
    ([old, n]) => {
      const cells = document.querySelectorAll('tr[data-node] td[data-type="eds"]');
      const synced = document.querySelector('[data-count="synced"]')?.textContent === String(n);
      return synced && cells.length > 0 && [...cells].every((c) => c.getAttribute("data-acked") !== old && c.querySelector(".state.SYNCED"));
    },
    [before, clientCount] as const,
    { timeout: 60_000, polling: "raf" },
  );
  updates.push(Date.now() - at);
  longest.push(await page.evaluate(() => (window as unknown as { longest: number }).longest));
  await new Promise((r) => setTimeout(r, 1000));
}
console.log(
  `live update (config rename → the rows shown have the new EDS version ACKed, every proxy counted synced), ${changes} changes: ${describe(updates, 0)} ms`,
);
console.log(`longest page task during an update: ${describe(longest, 0)} ms`);
if (errors.length > 0) console.log(`page errors: ${errors.join("; ")}`);
await browser.close();
clients.close();
await daemon.stop();
