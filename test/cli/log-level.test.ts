// What the daemon logs at each level (log.ts): at the default level one line when a proxy is identified and one when
// its stream closes, nothing per response or ACK (a push to 1,000 proxies must not write 2,000 lines); at
// --log-level debug every request, response and ACK; an unknown level is a usage error. (The daemon writes JSON
// on a pipe; the handle's log() shows each record as `TIME LEVEL SUBSYSTEM MESSAGE`: daemon-log.test.ts.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { consoleLogger } from "../../src/log.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { node } from "../support/resources.js";
import { RawXdsClient } from "../support/xds-client.js";
import { runXdsd, startXdsd } from "../support/xdsd.js";

const config = 'clusters:\n  - {name: a, endpoints: ["10.0.0.1:80"]}\n';

async function oneExchange(args: string[]): Promise<string> {
  const xdsd = await startXdsd(config, { args, env: { XDSD_DEBUG: "" } });
  try {
    const client = new RawXdsClient(`127.0.0.1:${xdsd.xdsPort}`);
    client.send({ node: node("log-1"), typeUrl: TypeUrl.Cluster });
    const cds = await client.next();
    client.ack(cds);
    client.close();
    await xdsd.waitForLog(/stream close stream=\S+ node=\S*log-1/);
    return xdsd.log();
  } finally {
    await xdsd.stop();
  }
}

test("the default level logs the proxy and its stream, not each response and ACK", async () => {
  const log = await oneExchange([]);
  assert.match(log, / info stream node stream=\S+ node=\S*log-1/);
  assert.doesNotMatch(log, / (send|ACK|debug) /, log);
});

test("--log-level debug logs every request, response and ACK", async () => {
  const debug = await oneExchange(["--log-level", "debug"]);
  assert.match(debug, / debug stream recv stream=\S+ node=\S*log-1 type=cds nonce=- version=- names=\[\]/);
  assert.match(debug, / debug stream send stream=\S+ node=\S*log-1 type=cds /);
  assert.match(debug, / debug stream ACK stream=\S+ node=\S*log-1 type=cds /);
});

test("a level leaves out the levels below it", () => {
  const lines: string[] = [];
  const sink = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
  const log = consoleLogger(sink, "warn");
  log.debug?.("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.equal(log.debug, undefined, "no debug function: per-message events are not even formatted");
  assert.deepEqual(
    lines.map((l) => l.split(" ").slice(1).join(" ")),
    ["warn w\n", "error e\n"],
  );
});

test("an unknown --log-level is a usage error", async () => {
  const r = await runXdsd(["serve", "--config", "examples/seed.yaml", "--log-level", "loud"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--log-level "loud": expected debug, info, warn, error/);
});
