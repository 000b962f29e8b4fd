// One fuzz run from start to verdict: start `xdsd serve`, measure its RSS, run the probes (daemon-fuzzer.ts), then
// prove it survived — alive, no internal failure logged, a well-formed client served the good config, /healthz 200,
// RSS back within a bound. Throws (an assertion error) when any of that fails.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { httpGet } from "../support/http.js";
import { RawXdsClient } from "../support/xds-client.js";
import { node } from "../support/resources.js";
import { startXdsd } from "../support/xdsd.js";
import { fuzzDaemon, type FuzzReport } from "./daemon-fuzzer.js";

export const goodConfig = [
  "clusters:",
  ...Array.from({ length: 20 }, (_, i) => `  - {name: c${i}, endpoints: ["127.0.0.1:${8000 + i}"]}`),
  "listeners:",
  "  - {name: l, port: 10000, virtual_hosts: [{name: v, domains: ['*'], routes: [{prefix: /, cluster: c0}]}]}",
  "",
].join("\n");

/** Extra RSS the daemon may keep after the run: glibc keeps freed heap (docs/performance.md, memory after disconnect). */
export const rssBoundBytes = 150 * 1024 * 1024;

export interface FuzzRunResult {
  seed: number;
  seconds: number;
  report: FuzzReport;
  rssBefore: number;
  rssPeak: number;
  rssAfter: number;
}

export async function fuzzRun(o: { seed: number; scale: number; probeMs: number }): Promise<FuzzRunResult> {
  const xdsd = await startXdsd(goodConfig);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, xdsd.rssBytes())), 100);
  try {
    await sleep(500);
    const rssBefore = xdsd.rssBytes();
    const started = performance.now();
    const report = await fuzzDaemon(xdsd, { ...o, goodConfig });
    const seconds = (performance.now() - started) / 1000;

    assert.equal((await httpGet(`${xdsd.adminUrl}/healthz`)).status, 200);
    assert.doesNotMatch(xdsd.log(), /internal error|uncaught|FATAL|heap out of memory/i);
    const from = xdsd.log().length;
    xdsd.writeConfig(`${goodConfig}# back to good\n`);
    await xdsd.waitForLog(/version \S+ published: \{"cds":20,"eds":20,"lds":1,"rds":1\}/, 10_000, from);
    const client = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
    client.send({ node: node("after-fuzz"), typeUrl: TypeUrl.Cluster });
    assert.equal((await client.next(5000)).resources.length, 20);
    client.close();

    let rssAfter = xdsd.rssBytes();
    for (let i = 0; i < 50 && rssAfter > rssBefore + rssBoundBytes; i++) {
      await sleep(200);
      rssAfter = xdsd.rssBytes();
    }
    const result = { seed: o.seed, seconds, report, rssBefore, rssPeak: Math.max(peak, rssAfter), rssAfter };
    assert.ok(rssAfter <= rssBefore + rssBoundBytes, `RSS did not come back within the bound:\n${describeRun(result)}`);
    return result;
  } finally {
    clearInterval(sampler);
    assert.equal(await xdsd.stop(), 0, "xdsd exits 0 on SIGTERM after the run");
  }
}

export function describeRun(r: FuzzRunResult): string {
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
  const probes = Object.entries(r.report).map(
    ([probe, { sent, outcomes, rssAfterMb }]) =>
      `  ${probe}: ${sent} sent → ${Object.entries(outcomes)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ")}; RSS after it ${rssAfterMb} MB`,
  );
  return [
    `fuzz run, seed ${r.seed}, ${r.seconds.toFixed(1)} s of probes`,
    ...probes,
    `  RSS: ${mb(r.rssBefore)} before, ${mb(r.rssPeak)} peak, ${mb(r.rssAfter)} after (bound: before + ${mb(rssBoundBytes)})`,
  ].join("\n");
}
