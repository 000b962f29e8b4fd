// The daemon under input that used to take it down (issue 10): a malformed admin request target, a config far over
// the size limit written over the watched file, a big reload, aliases and nesting that crashed the parser. The
// process stays up, keeps serving the last good config, and says what was refused and where.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { httpGet } from "../support/http.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const good = (n: number) =>
  `clusters:\n${Array.from({ length: n }, (_, i) => `  - {name: c${i}, endpoints: ["127.0.0.1:${1000 + (i % 50000)}", "127.0.0.2:80"]}`).join("\n")}\n`;

let xdsd: XdsdHandle;
before(async () => {
  xdsd = await startXdsd(good(2), { args: ["--max-config-bytes", "4000000"] });
});
after(async () => {
  assert.equal(await xdsd.stop(), 0, "xdsd exits 0 on SIGTERM: it never crashed");
});

/** Sends one raw HTTP/1.1 request line and returns the status code of the answer. */
function rawStatus(target: string): Promise<number> {
  const { hostname, port } = new URL(xdsd.adminUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n`));
    let data = "";
    socket.on("data", (d) => (data += d));
    socket.on("error", reject);
    socket.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no HTTP answer to ${target}: ${JSON.stringify(data)}`));
    });
  });
}

async function configVersion(): Promise<{ version: string; lastError?: { message: string } }> {
  // After the big reload /config is 33 MB of JSON: about a second to write on an idle machine, more under the suite.
  const r = await httpGet(`${xdsd.adminUrl}/config`, { timeoutMs: 30_000 });
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { config: { version: string; lastError?: { message: string } } }).config;
}

test("admin request targets that made `new URL` throw get a 4xx, and the daemon keeps serving", async () => {
  for (const target of ["//", "//[", "http://[", "//a:b@", "//a:99999", "//%", "///", "*", "http://x:99999/"]) {
    const status = await rawStatus(target);
    assert.ok(status >= 400 && status < 500, `${target} → ${status}`);
  }
  assert.equal((await httpGet(`${xdsd.adminUrl}/healthz`)).status, 200);
});

test("a config over --max-config-bytes is refused unparsed and the last good one keeps being served", async () => {
  const before = await configVersion();
  const from = xdsd.log().length;
  xdsd.writeConfig(good(80_000)); // about 5.6 MB, over the 4,000,000 set for this daemon
  await xdsd.waitForLog(
    /rejected, still serving version \S+: invalid config \(1 error\):\n\s+\S+xdsd\.yaml: the config is \d+ bytes, over the limit of 4000000 \(--max-config-bytes raises it\); it was not parsed/,
    10_000,
    from,
  );
  const after = await configVersion();
  assert.equal(after.version, before.version);
  assert.match(after.lastError?.message ?? "", /over the limit of 4000000/);
});

test("a big reload is parsed off the main thread: /healthz answers quickly throughout", { timeout: 120_000 }, async () => {
  const from = xdsd.log().length;
  xdsd.writeConfig(good(30_000)); // about 2 MB: seconds of parsing
  let published = false;
  const latencies: number[] = [];
  const done = xdsd.waitForLog(/version \S+ published: \{"cds":30000,"eds":30000\}/, 100_000, from).then(() => (published = true));
  while (!published) {
    const t0 = performance.now();
    assert.equal((await httpGet(`${xdsd.adminUrl}/healthz`)).status, 200);
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  await done;
  const slowest = Math.max(...latencies);
  assert.ok(latencies.length >= 10, `the reload took ${latencies.length} probes: too short to show anything`);
  assert.ok(slowest < 1000, `slowest /healthz during the reload: ${slowest.toFixed(0)} ms over ${latencies.length} probes`);
});

test("aliases and nesting that crashed the parser are located errors on reload", async () => {
  const before = await configVersion();
  for (const [text, where] of [
    ["clusters: *a\n", /xdsd\.yaml:1:11: alias \*a has no anchor &a before it/],
    [`clusters: ${"[".repeat(10_000)}\n`, /xdsd\.yaml:1:\d+: nesting is deeper than 100 levels/],
    [`clusters:\n  ${"- ".repeat(50_000)}x\n`, /xdsd\.yaml:2:\d+: nesting is deeper than 100 levels/],
  ] as const) {
    const from = xdsd.log().length;
    xdsd.writeConfig(text);
    await xdsd.waitForLog(where, 10_000, from);
  }
  assert.equal((await configVersion()).version, before.version);
  assert.equal((await httpGet(`${xdsd.adminUrl}/healthz`)).status, 200);
});
