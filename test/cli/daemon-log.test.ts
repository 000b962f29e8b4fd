// The daemon's log (cli/daemon-log.ts): JSON records on a pipe, readable lines on a terminal, and debug switched on
// per subsystem with XDSD_DEBUG.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { chooseLogFormat, daemonLoggers, logEnvironment, type DaemonLogOptions } from "../../src/cli/daemon-log.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { repoRoot, trackChild } from "../support/processes.js";
import { node } from "../support/resources.js";
import { RawXdsClient } from "../support/xds-client.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

const config = 'clusters:\n  - {name: a, endpoints: ["10.0.0.1:80"]}\n';

/** One proxy's CDS exchange and a config change to the same content, so that stream and config both have something to say. */
async function exchangeAndReload(xdsd: XdsdHandle): Promise<void> {
  const client = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
  client.send({ node: node("log-2"), typeUrl: TypeUrl.Cluster });
  client.ack(await client.next());
  client.close();
  await xdsd.waitForLog(/stream close stream=\S+ node=\S*log-2/);
  const mark = xdsd.log().length;
  xdsd.writeConfig(`${config}# a comment\n`);
  await xdsd.waitForLog(/config \S+ version \S+ published/, 5000, mark);
}

test("on a pipe every line is a JSON record with level, time, subsystem and the message", async () => {
  const xdsd = await startXdsd(config, { env: { XDSD_DEBUG: "" } });
  try {
    await exchangeAndReload(xdsd);
  } finally {
    await xdsd.stop();
  }
  const lines = xdsd.rawLog().trimEnd().split("\n");
  assert.ok(lines.length >= 4, xdsd.rawLog());
  for (const line of lines) {
    const r = JSON.parse(line) as Record<string, unknown>;
    assert.match(String(r.level), /^(info|warn|error)$/, line);
    assert.ok(!Number.isNaN(Date.parse(String(r.time))) && String(r.time).endsWith("Z"), line);
    assert.match(String(r.subsystem), /^(daemon|stream|config|transport|admin)$/, line);
    assert.equal(typeof r.msg, "string", line);
    assert.equal(r.pid, xdsd.pid);
  }
  const records = xdsd.records();
  const by = (subsystem: string, re: RegExp) => records.find((r) => r.subsystem === subsystem && re.test(r.msg));
  assert.equal(by("daemon", /^xdsd serving xDS on 127\.0\.0\.1:\d+, admin on http:\/\/127\.0\.0\.1:\d+$/)?.level, "info");
  assert.equal(by("stream", /^node stream=\S+ node=\S*log-2 /)?.level, "info");
  assert.equal(by("stream", /^stream close .* reason="/)?.level, "info", "the message is today's text, quotes and all");
  assert.equal(by("config", /^config \S+ version \S+ published: \{"cds":1,"eds":1\}$/)?.level, "info");
  assert.equal(by("daemon", /^xdsd stopped$/)?.level, "info");
  assert.ok(!records.some((r) => r.level === "debug"), "no debug record at the default level");
});

test("XDSD_DEBUG=stream logs stream debug lines and no config ones; XDSD_DEBUG=config the other way round", async () => {
  for (const [on, off] of [
    ["stream", "config"],
    ["config", "stream"],
  ]) {
    const xdsd = await startXdsd(config, { env: { XDSD_DEBUG: on } });
    try {
      await exchangeAndReload(xdsd);
    } finally {
      await xdsd.stop();
    }
    const debug = xdsd.records().filter((r) => r.level === "debug");
    assert.ok(
      debug.some((r) => r.subsystem === on),
      `XDSD_DEBUG=${on}: ${on} debug lines\n${xdsd.log()}`,
    );
    assert.deepEqual(
      debug.filter((r) => r.subsystem !== on),
      [],
      `XDSD_DEBUG=${on}: no other subsystem at debug (${off} included)`,
    );
    if (on === "stream") assert.ok(debug.some((r) => /^send stream=\S+ node=\S*log-2 type=cds /.test(r.msg)));
    else assert.ok(debug.some((r) => /^config \S+ changed on disk/.test(r.msg)));
  }
});

test("a name XDSD_DEBUG does not know is logged as a warning, and the daemon serves", async () => {
  const xdsd = await startXdsd(config, { env: { XDSD_DEBUG: "stream,bogus" } });
  await xdsd.stop();
  assert.match(xdsd.log(), / warn daemon XDSD_DEBUG names no subsystem "bogus" \(there are daemon, stream, config, transport, admin, or all\)/);
});

test("XDSD_LOG_FORMAT=pretty gives readable lines on a pipe", async () => {
  const xdsd = await startXdsd(config, { env: { XDSD_LOG_FORMAT: "pretty", XDSD_DEBUG: "" } });
  await xdsd.stop();
  assert.equal(xdsd.records().length, 0, xdsd.rawLog());
  assert.match(
    xdsd.rawLog(),
    /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: daemon: xdsd serving xDS on 127\.0\.0\.1:\d+, admin on http:\/\/127\.0\.0\.1:\d+$/m,
  );
  assert.match(xdsd.rawLog(), /^\[[^\]]+\] INFO: config: config \S+ version \S+ published: \{"cds":1,"eds":1\}$/m);
  assert.equal(stripVTControlCharacters(xdsd.rawLog()), xdsd.rawLog(), "no colors when stderr is not a terminal");
});

test("on a terminal the lines are readable, not JSON", { skip: process.platform !== "linux" && "needs util-linux script(1)" }, async () => {
  // script(1) runs the daemon with a pseudo-terminal as its stdout and stderr.
  const dir = mkdtempSync(join(tmpdir(), "xdsd-tty-"));
  const file = join(dir, "xdsd.yaml");
  writeFileSync(file, config);
  const command = `exec ${process.execPath} bin/xdsd.js serve --config ${file} --xds-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: repoRoot(), env: { ...process.env, XDSD_DEBUG: "", XDSD_LOG_FORMAT: "" } });
  trackChild(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!/xdsd serving xDS/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  child.kill("SIGKILL");
  const plain = stripVTControlCharacters(out);
  assert.match(plain, /^\[[^\]]+\] INFO: daemon: xdsd serving xDS on /m, out);
  assert.doesNotMatch(out, /"msg":/);
});

test("the format: XDSD_LOG_FORMAT if it names one, else pretty on a terminal and JSON elsewhere", () => {
  assert.equal(chooseLogFormat(undefined, true), "pretty");
  assert.equal(chooseLogFormat(undefined, false), "json");
  assert.equal(chooseLogFormat("json", true), "json");
  assert.equal(chooseLogFormat("pretty", false), "pretty");
  assert.equal(logEnvironment({ XDSD_LOG_FORMAT: "pretty" }).format, "pretty");
  const bad = logEnvironment({ XDSD_LOG_FORMAT: "xml" });
  assert.equal(bad.format, undefined);
  assert.deepEqual(bad.problems, ['XDSD_LOG_FORMAT="xml" ignored: expected json or pretty']);
  assert.deepEqual([...logEnvironment({ XDSD_DEBUG: " stream, config " }).debug], ["stream", "config"]);
  assert.deepEqual([...logEnvironment({ XDSD_DEBUG: "all" }).debug], ["daemon", "stream", "config", "transport", "admin"]);
  assert.deepEqual(logEnvironment({}), { debug: new Set(), problems: [] });
});

/** The loggers of `options` writing into an array of lines. */
function capture(options: Omit<DaemonLogOptions, "destination">) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { logs: daemonLoggers({ ...options, destination }), lines };
}

test("a subsystem switched to debug logs debug lines while the rest keep --log-level", () => {
  const { logs, lines } = capture({ level: "warn", format: "json", debug: new Set(["stream"]) });
  assert.equal(logs("config").debug, undefined, "no debug function: not even formatted");
  logs("config").info("config info");
  logs("config").warn("config warn");
  logs("stream").debug?.("stream debug");
  logs("stream").info("stream info");
  const got = lines.map((l) => JSON.parse(l) as { level: string; subsystem: string; msg: string });
  assert.deepEqual(
    got.map((r) => `${r.level} ${r.subsystem} ${r.msg}`),
    ["warn config config warn", "debug stream stream debug", "info stream stream info"],
  );
  assert.equal(logs("stream"), logs("stream"), "one logger per subsystem");
});

test("a message is logged as given: no printf-style formatting", () => {
  const { logs, lines } = capture({ level: "info", format: "json" });
  logs("daemon").info('100% %s %d %j %% "quoted"');
  assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, '100% %s %d %j %% "quoted"');
});

test("pretty lines: time, level, subsystem, message; no pid or hostname", () => {
  const { logs, lines } = capture({ level: "info", format: "pretty" });
  logs("config").warn("config x.yaml rejected");
  assert.match(lines[0]!, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: config: config x\.yaml rejected$/);
});
