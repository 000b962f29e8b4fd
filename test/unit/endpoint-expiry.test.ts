// Registered endpoints with a TTL (config/endpoint-expiry.ts) on a fake wall clock and a sweep timer fired by hand,
// over a real reloader and SQLite store: deleted once due and not before, kept when a PUT renews them (even one that
// lands while a sweep is deleting), and gone at the first sweep after a restart when they lapsed while the daemon was
// down. No test here waits on the clock.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EndpointExpiry } from "../../src/daemon/endpoint-expiry.js";
import { withRegistration } from "../../src/merge/registration.js";
import type { ConfigReloader } from "../../src/daemon/reloader.js";
import { servedPorts, storeReloader } from "./reloader-helpers.js";

const t0 = Date.parse("2030-01-01T00:00:00Z");

/** Registers (or renews) `web/127.0.0.1:<port>` as the write API does at wall time `nowMs`. */
function register(reloader: ConfigReloader, port: number, nowMs: number, ttl: string | null) {
  const value = { address: "127.0.0.1", port, ...(ttl === null ? {} : { ttl }) };
  return reloader.write([{ op: "put", kind: "endpoint", name: `web/127.0.0.1:${port}`, value: withRegistration(value, nowMs) }]);
}

const expiredLines = (lines: string[]) => lines.filter((l) => / expired: /.test(l));

test("a registration is deleted once its expiry time is reached, not a millisecond before; one without a ttl stays", async () => {
  const d = await storeReloader();
  let now = t0;
  const expiry = new EndpointExpiry(d.reloader, { info: (m) => d.lines.push(`info ${m}`), warn: () => {}, error: () => {} }, { now: () => now });
  try {
    await register(d.reloader, 8201, t0, "10s");
    await register(d.reloader, 8202, t0, null);
    assert.equal(d.reloader.storeObject("endpoint", "web/127.0.0.1:8201")?.value.expires_at, "2030-01-01T00:00:10.000Z");
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8201, 8202]);
    now = t0 + 9_999;
    assert.equal(await expiry.sweep(), 0);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8201, 8202]);
    now = t0 + 10_000;
    assert.equal(await expiry.sweep(), 1);
    assert.equal(d.reloader.storeObject("endpoint", "web/127.0.0.1:8201"), undefined);
    assert.ok(d.reloader.storeObject("endpoint", "web/127.0.0.1:8202"), "no ttl: never expires");
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8202]);
    assert.deepEqual(expiredLines(d.lines), ["info endpoint web/127.0.0.1:8201 expired: its registration (ttl 10s) was not renewed"]);
    now = t0 + 1_000_000;
    assert.equal(await expiry.sweep(), 0);
  } finally {
    await d.close();
  }
});

test("a PUT renews a registration: it expires its ttl after the last renewal", async () => {
  const d = await storeReloader();
  let now = t0;
  const expiry = new EndpointExpiry(d.reloader, { info: (m) => d.lines.push(`info ${m}`), warn: () => {}, error: () => {} }, { now: () => now });
  try {
    await register(d.reloader, 8201, t0, "10s");
    await register(d.reloader, 8201, t0 + 8_000, "10s");
    now = t0 + 12_000; // past the first registration's expiry, not the renewal's
    assert.equal(await expiry.sweep(), 0);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8201]);
    now = t0 + 18_000;
    assert.equal(await expiry.sweep(), 1);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081]);
  } finally {
    await d.close();
  }
});

test("a renewal that lands while a sweep is deleting wins: the renewed one stays and is not logged as expired; the others go", async () => {
  const d = await storeReloader();
  let now = t0;
  const expiry = new EndpointExpiry(d.reloader, { info: (m) => d.lines.push(`info ${m}`), warn: () => {}, error: () => {} }, { now: () => now });
  try {
    await register(d.reloader, 8201, t0, "10s");
    await register(d.reloader, 8202, t0, "10s");
    now = t0 + 11_000;
    // The renewal is queued before the sweep's delete (writes run one at a time, in order); the sweep saw 8201 as it
    // was before the renewal, so its conditional delete of 8201 must fail.
    const renewed = register(d.reloader, 8201, now, "10s");
    const swept = expiry.sweep();
    await renewed;
    assert.equal(await swept, 1);
    assert.ok(d.reloader.storeObject("endpoint", "web/127.0.0.1:8201"), "the renewal won");
    assert.equal(d.reloader.storeObject("endpoint", "web/127.0.0.1:8202"), undefined);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8201]);
    assert.deepEqual(expiredLines(d.lines), ["info endpoint web/127.0.0.1:8202 expired: its registration (ttl 10s) was not renewed"]);
  } finally {
    await d.close();
  }
});

test("a registration that lapsed while the daemon was down is served until, and deleted at, the first sweep after the restart", async () => {
  const before = await storeReloader();
  await register(before.reloader, 8201, t0, "10s");
  await register(before.reloader, 8202, t0, "3600s");
  await before.close();

  // Restarted 59 minutes later: 8201 lapsed while the daemon was down, 8202 (an hour) has not.
  const d = await storeReloader(undefined, before.dir);
  const now = t0 + 3_540_000;
  const fired: { sweep: () => Promise<number> }[] = [];
  let stopped = 0;
  const every = (sweep: () => Promise<number>) => {
    fired.push({ sweep });
    return () => void stopped++;
  };
  const expiry = new EndpointExpiry(d.reloader, { info: (m) => d.lines.push(`info ${m}`), warn: () => {}, error: () => {} }, { now: () => now, every });
  try {
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8201, 8202], "what the store holds is served as it was");
    expiry.start();
    expiry.start(); // one timer, however often started
    assert.equal(fired.length, 1);
    assert.equal(await fired[0].sweep(), 1);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8202]);
    expiry.close();
    assert.equal(stopped, 1);
  } finally {
    await d.close();
  }
});

test("expiry sweeps only while this daemon leads: a follower deletes nothing, and its timer runs only while it leads", async () => {
  const d = await storeReloader();
  const now = t0 + 11_000;
  const listeners = new Set<(leads: boolean) => void>();
  const leadership = {
    isLeader: false,
    onChange(listener: (leads: boolean) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const lead = (leads: boolean) => {
    leadership.isLeader = leads;
    for (const l of listeners) l(leads);
  };
  let timers = 0;
  let stopped = 0;
  const every = () => {
    timers++;
    return () => void stopped++;
  };
  const expiry = new EndpointExpiry(d.reloader, { info: () => {}, warn: () => {}, error: () => {} }, { now: () => now, every, leadership });
  try {
    await register(d.reloader, 8201, t0, "10s");
    expiry.start();
    assert.equal(timers, 0, "a follower starts no sweeps");
    assert.equal(await expiry.sweep(), 0, "a follower deletes nothing, however lapsed");
    assert.deepEqual(servedPorts(d.cache, "web"), [8081, 8201]);
    lead(true);
    assert.equal(timers, 1);
    assert.equal(await expiry.sweep(), 1);
    assert.deepEqual(servedPorts(d.cache, "web"), [8081]);
    lead(false);
    assert.equal(stopped, 1, "losing the lead stops the sweeps");
    expiry.close();
    assert.equal(listeners.size, 0, "closed: no longer following the leadership");
  } finally {
    await d.close();
  }
});
