// One measurement: one server under one scenario, from a fresh server process and a fresh load generator to
// their exit. Every phase and every wait is bounded; a failure is recorded in the result rather than thrown, so
// that one bad run does not lose the others.
//
// Phases and what each yields:
//   ready      server loaded step 0, no client           → RSS baseline
//   connect    clients connect, get their full config    → time to full config, per-client times, CPU, event-loop delay
//   idle       2 s later                                 → RSS per idle stream
//   updates    the scenario's steps, paced               → convergence per update, CPU-s per update, bytes per update
//   pushed     1 s later                                 → RSS per stream after pushes
//   disconnect every stream cancelled (D, E)             → RSS back towards baseline?
import { join } from "node:path";
import { controlRequest } from "../lib/control-http.js";
import { now, sleep } from "../lib/clock.js";
import { cpuSeconds, memory } from "../lib/proc.js";
import { percentile } from "../lib/summary.js";
import type { Protocol } from "../loadgen/dialect.js";
import type { Scenario } from "../scenarios.js";
import { clockOffset } from "./clock-offset.js";
import { freePort, startPinned, stop, waitReady, type Started } from "./processes.js";

export interface ServerSpec {
  /** Short id used in tables: xdsd, go, floor. */
  id: string;
  command: string;
  args: string[];
}

export interface RunOptions {
  fixturePath: string;
  clients: number;
  steps: number;
  streamsPerConnection: number;
  verify: "bytes" | "sha256";
  /** The ADS protocol the generator speaks (every server serves both on one port, told apart by the method). */
  protocol: Protocol;
  logDir: string;
  /** Told apart in the log file names (several fixtures of one scenario: the cluster count). */
  variant?: string;
  run: number;
  /** Node flags and the generator's script. */
  loadgenArgs: string[];
  /** Longest wait for one update to converge. */
  updateTimeoutMs: number;
  /** Override of a rate-paced scenario's updates per second. */
  ratePerSecond?: number;
}

export interface UpdateSample {
  step: number;
  scheduledAt: number;
  /** Driver time just before POST /step (the update time). */
  t0: number;
  stepReturnedMs: number;
  convergenceMs: number;
  /** Driver time the last client held the step (NaN if it never did). */
  convergedAt: number;
  p50ClientMs: number;
  firstClientMs: number;
  reached: number;
  expected: number;
  timedOut: boolean;
  /** POST /step got no answer within the update timeout (open loop only). */
  notTaken?: boolean;
}

export interface RunResult {
  server: string;
  /** Absent in results written before delta was measured: those are SotW. */
  protocol?: Protocol;
  run: number;
  ok: boolean;
  error?: string;
  clients: number;
  clock: { offsetMs: number; rttMs: number };
  rss: {
    baselineBytes: number;
    idleBytes?: number;
    afterPushesBytes?: number;
    afterDisconnectBytes?: number;
    afterDisconnectWaitMs?: number;
    peakBytes?: number;
    perStreamIdleBytes?: number;
    perStreamAfterPushesBytes?: number;
    /** afterDisconnect / baseline. */
    disconnectRatio?: number;
    /** After the disconnect wait, a forced full collection (POST /gc): RSS, and the language heap in use. */
    afterDisconnectGcBytes?: number;
    disconnectGcRatio?: number;
    heapBaselineBytes?: number;
    heapAfterDisconnectGcBytes?: number;
    heapDisconnectGcRatio?: number;
  };
  initial?: {
    durationMs: number;
    perClientMs: { p50: number; p99: number; max: number };
    complete: number;
    target: number;
    lost: number;
    timedOut: boolean;
    serverCpuS: number;
    loadgenCpuS: number;
    wallS: number;
    serverEventLoopDelayP99Ms?: number;
  };
  updates?: {
    count: number;
    /** Steps not applied because the phase ran out of time (the server could not keep up). */
    skipped: number;
    samples: UpdateSample[];
    convergenceMs: { p50: number; p99: number; max: number };
    timedOut: number;
    /** Updates whose POST /step was not answered within the update timeout. */
    notTaken: number;
    serverCpuS: number;
    /** Server CPU over the phase / updates it took (POST /step answered). */
    serverCpuSPerUpdate: number;
    /** Replicas of one server (--replicas): each one's CPU per update taken; serverCpuSPerUpdate is their sum. */
    replicaCpuSPerUpdate?: number[];
    bytesReceived: number;
    bytesPerUpdate: number;
    wallS: number;
    /** Rate at which the driver handed steps to the server (open loop: the scenario's rate, unless the driver lagged). */
    offeredRatePerS: number;
    /** Rate at which updates reached every client (sustainedRate). */
    sustainedRatePerS: number;
    /** How long the server took to answer POST /step (taking the step, not delivering it). */
    stepAcceptedMs: { p50: number; p99: number };
    serverEventLoopDelayP99Ms?: number;
    serverEventLoopDelayMaxMs?: number;
    loadgenCpuS: number;
    /** Load generator CPU time / wall time during the phase: 1.0 = its core was saturated. */
    loadgenCpuShare: number;
    /** Sequential pacing: generator CPU time / summed convergence times (its load while updates were in flight). */
    loadgenCpuShareConverging?: number;
    loadgenEventLoopDelayP99Ms: number;
    loadgenHandleP99Us?: number;
  };
  loadgen?: Record<string, unknown>;
  serverStats?: Record<string, unknown>;
  serverStatsAfterDisconnect?: Record<string, unknown>;
  loadgenAfterDisconnect?: Record<string, unknown>;
  serverExit?: number | null;
  loadgenExit?: number | null;
}

// biome-ignore lint/suspicious/noExplicitAny: the control protocol's JSON answers, read field by field as documented in bench/README.md
type Json = Record<string, any>;

/** The server's CPU so far: of every process measured (replicas: each replica's). */
function serverCpuSeconds(srv: Started): number {
  return (srv.pids ?? [srv.pid]).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

export async function runOne(scenario: Scenario, server: ServerSpec, o: RunOptions): Promise<RunResult> {
  const xdsPort = await freePort();
  const serverControl = await freePort();
  let loadgenControl = 0;
  const tag = `${scenario.id}${o.variant ?? ""}-run${o.run}-${server.id}${o.protocol === "delta" ? "-delta" : ""}`;
  const result: RunResult = {
    server: server.id,
    protocol: o.protocol,
    run: o.run,
    ok: false,
    clients: o.clients,
    clock: { offsetMs: 0, rttMs: 0 },
    rss: { baselineBytes: NaN },
  };
  let srv: Started | undefined;
  let gen: Started | undefined;
  try {
    srv = startPinned(
      0,
      server.command,
      [...server.args, "--fixture", o.fixturePath, "--xds-port", String(xdsPort), "--control-port", String(serverControl)],
      join(o.logDir, `${tag}-server.log`),
    );
    await waitReady(srv, serverControl);
    // A server that is a wrapper around the process under test (daemon-server.ts) names that process: CPU and
    // memory are read for it, not for the wrapper.
    const served = await controlRequest<Json>(serverControl, "GET", "/stats");
    const measured = served.measuredPid;
    if (typeof measured === "number") srv = { ...srv, pid: measured };
    // Replicas (daemon-server.ts): CPU is summed over every replica's process; RSS is the first replica's.
    if (Array.isArray(served.measuredPids)) srv = { ...srv, pid: served.measuredPids[0], pids: served.measuredPids };
    // ...and the generator spreads its connections over their xDS ports.
    const xdsPorts: string = Array.isArray(served.xdsPorts) ? served.xdsPorts.join(",") : String(xdsPort);
    // Only now: a port taken by the server's own children (the daemon's admin port is an ephemeral one) is not free.
    loadgenControl = await freePort();
    // Where memory after disconnect is compared with the baseline, the baseline is taken after a forced
    // collection too, so that the loading of step 0 does not count as baseline.
    if (scenario.measureDisconnect) result.rss.heapBaselineBytes = await heapAfterForcedGc(serverControl);
    await sleep(1000);
    result.rss.baselineBytes = memory(srv.pid).rssBytes;

    gen = startPinned(
      1,
      process.execPath,
      [
        ...o.loadgenArgs,
        "--fixture",
        o.fixturePath,
        "--xds-port",
        xdsPorts,
        "--control-port",
        String(loadgenControl),
        "--max-clients",
        String(o.clients),
        "--verify",
        o.verify,
        "--protocol",
        o.protocol,
      ],
      join(o.logDir, `${tag}-loadgen.log`),
    );
    await waitReady(gen, loadgenControl);
    result.clock = await clockOffset(loadgenControl);
    // Absent times come back from JSON as null: keep them NaN, not "offset ms after the epoch".
    const toDriver = (loadgenTime: number | null) => (typeof loadgenTime === "number" ? loadgenTime - result.clock.offsetMs : NaN);

    // Connect.
    await controlRequest(serverControl, "GET", "/stats?reset=1");
    const cpu0 = serverCpuSeconds(srv);
    const gcpu0 = cpuSeconds(gen.pid);
    const connectAt = now();
    await controlRequest(loadgenControl, "POST", "/connect", {
      clients: o.clients,
      spreadMs: scenario.connectSpreadMs,
      streamsPerConnection: o.streamsPerConnection,
    });
    const initial = await controlRequest<Json>(
      loadgenControl,
      "GET",
      `/wait?initial=1&timeoutMs=${scenario.initialTimeoutMs}`,
      undefined,
      scenario.initialTimeoutMs + 10_000,
    );
    const connectEnd = now();
    const s1 = await controlRequest<Json>(serverControl, "GET", "/stats");
    result.initial = {
      durationMs: toDriver(initial.lastCompleteAt) - connectAt,
      perClientMs: initial.perClientMs,
      complete: initial.complete,
      target: initial.target,
      lost: initial.lost,
      timedOut: initial.timedOut,
      serverCpuS: serverCpuSeconds(srv) - cpu0,
      loadgenCpuS: cpuSeconds(gen.pid) - gcpu0,
      wallS: (connectEnd - connectAt) / 1000,
      serverEventLoopDelayP99Ms: s1.eventLoopDelayP99Ms,
    };
    if (initial.timedOut) throw new Error(`initial config: ${initial.complete}/${initial.target} clients complete after ${scenario.initialTimeoutMs} ms`);

    await sleep(2000);
    result.rss.idleBytes = memory(srv.pid).rssBytes;
    result.rss.perStreamIdleBytes = (result.rss.idleBytes - result.rss.baselineBytes) / o.clients;

    if (o.steps > 0) {
      result.updates = await updates(scenario, o, srv, gen, serverControl, loadgenControl, toDriver);
      await sleep(1000);
      result.rss.afterPushesBytes = memory(srv.pid).rssBytes;
      result.rss.perStreamAfterPushesBytes = (result.rss.afterPushesBytes - result.rss.baselineBytes) / o.clients;
    }

    result.loadgen = await controlRequest<Json>(loadgenControl, "GET", "/stats");
    result.serverStats = await controlRequest<Json>(serverControl, "GET", "/stats");

    if (scenario.measureDisconnect) {
      await controlRequest(loadgenControl, "POST", "/disconnect", undefined, 60_000);
      const began = now();
      // Memory is given back lazily (GC, allocator, Go's scavenger): sample for up to 20 s, stop once within 10%.
      let rss = memory(srv.pid).rssBytes;
      for (let i = 0; i < 20 && rss > result.rss.baselineBytes * 1.1; i++) {
        await sleep(1000);
        rss = memory(srv.pid).rssBytes;
      }
      result.rss.afterDisconnectBytes = rss;
      result.rss.afterDisconnectWaitMs = now() - began;
      result.rss.disconnectRatio = rss / result.rss.baselineBytes;
      result.serverStatsAfterDisconnect = await controlRequest<Json>(serverControl, "GET", "/stats");
      const heap = await heapAfterForcedGc(serverControl);
      if (heap !== undefined) {
        result.rss.afterDisconnectGcBytes = memory(srv.pid).rssBytes;
        result.rss.disconnectGcRatio = result.rss.afterDisconnectGcBytes / result.rss.baselineBytes;
        result.rss.heapAfterDisconnectGcBytes = heap;
        if (result.rss.heapBaselineBytes) result.rss.heapDisconnectGcRatio = heap / result.rss.heapBaselineBytes;
      }
      result.loadgenAfterDisconnect = await controlRequest<Json>(loadgenControl, "GET", "/stats");
    }
    result.rss.peakBytes = memory(srv.pid).peakRssBytes;
    result.ok = true;
  } catch (err) {
    result.error = (err as Error).message;
    console.error(`!!! ${tag}: ${result.error}`);
    // What the generator saw is the first thing to read after a failure.
    if (gen) result.loadgen ??= await controlRequest<Json>(loadgenControl, "GET", "/stats", undefined, 2000).catch(() => undefined);
  } finally {
    if (gen) result.loadgenExit = await stop(gen);
    if (srv) result.serverExit = await stop(srv);
  }
  return result;
}

async function updates(
  scenario: Scenario,
  o: RunOptions,
  srv: Started,
  gen: Started,
  serverControl: number,
  loadgenControl: number,
  toDriver: (t: number | null) => number,
): Promise<NonNullable<RunResult["updates"]>> {
  await controlRequest(serverControl, "GET", "/stats?reset=1");
  const before = await controlRequest<Json>(loadgenControl, "GET", "/stats?reset=1");
  const cpu0 = serverCpuSeconds(srv);
  const replicaCpu0 = srv.pids?.map((pid) => cpuSeconds(pid)) ?? [];
  const gcpu0 = cpuSeconds(gen.pid);
  const start = now();
  const pending: Promise<UpdateSample>[] = [];
  let skipped = 0;

  // Resolves once the server has taken the step; `converged` resolves when every client has it (a promise in an
  // object, so that awaiting the first does not flatten into waiting for the second).
  const apply = async (step: number, scheduledAt: number): Promise<{ converged: Promise<UpdateSample> }> => {
    await controlRequest(loadgenControl, "POST", `/track?step=${step}`);
    const t0 = now();
    try {
      await controlRequest(serverControl, "POST", "/step", undefined, o.updateTimeoutMs);
    } catch (err) {
      // Open loop: a server that cannot take the offered updates may hold them (go-control-plane's update call
      // blocks while its watches are served): the update is counted as not taken, and the run goes on.
      if (scenario.pacing.mode !== "rate" || !/no answer within/.test((err as Error).message)) throw err;
      const sample: UpdateSample = {
        step,
        scheduledAt,
        t0,
        stepReturnedMs: NaN,
        convergenceMs: NaN,
        convergedAt: NaN,
        p50ClientMs: NaN,
        firstClientMs: NaN,
        reached: 0,
        expected: 0,
        timedOut: true,
        notTaken: true,
      };
      return { converged: Promise.resolve(sample) };
    }
    const stepReturnedMs = now() - t0;
    const converged = controlRequest<Json>(
      loadgenControl,
      "GET",
      `/wait?step=${step}&timeoutMs=${o.updateTimeoutMs}`,
      undefined,
      o.updateTimeoutMs + 10_000,
    ).then((w) => ({
      step,
      scheduledAt,
      t0,
      stepReturnedMs,
      convergenceMs: w.timedOut ? NaN : toDriver(w.lastAt) - t0,
      convergedAt: w.timedOut ? NaN : toDriver(w.lastAt),
      p50ClientMs: toDriver(w.p50At) - t0,
      firstClientMs: toDriver(w.firstAt) - t0,
      reached: w.reached,
      expected: w.expected,
      timedOut: w.timedOut,
    }));
    return { converged };
  };

  if (scenario.pacing.mode === "rate") {
    // Open loop: step i is offered at start + (i-1)/rate whatever the server did with the earlier ones, so a server
    // that cannot keep up is measured as such (its queue shows in convergence, its real rate below) instead of
    // slowing the offered load down to its own pace. Bounded in count (the steps) and in time (the schedule plus
    // each update's convergence timeout).
    const perSecond = o.ratePerSecond ?? scenario.pacing.perSecond;
    for (let step = 1; step <= o.steps; step++) {
      const scheduledAt = start + ((step - 1) * 1000) / perSecond;
      const wait = scheduledAt - now();
      if (wait > 0) await sleep(wait);
      pending.push(apply(step, scheduledAt).then((a) => a.converged));
    }
  } else {
    // Sequential, bounded in time as well as in count: a server whose updates never converge stops getting new
    // steps once the phase has run 5 s per step (at least 2 minutes); the steps not applied are reported.
    const deadline = start + Math.max(o.steps * 5_000, 120_000);
    for (let step = 1; step <= o.steps; step++) {
      if (now() > deadline) {
        skipped = o.steps - step + 1;
        console.error(`    !!! update phase over its time budget: ${skipped} of ${o.steps} steps not applied`);
        break;
      }
      const { converged } = await apply(step, now());
      await converged;
      pending.push(converged);
      if (step < o.steps) await sleep(scenario.pacing.settleMs);
    }
  }
  const samples = await Promise.all(pending);
  const end = now();
  const cpuS = serverCpuSeconds(srv) - cpu0;
  const replicaCpuS = srv.pids?.map((pid, i) => cpuSeconds(pid) - replicaCpu0[i]);
  const gcpuS = cpuSeconds(gen.pid) - gcpu0;
  const after = await controlRequest<Json>(loadgenControl, "GET", "/stats");
  const serverStats = await controlRequest<Json>(serverControl, "GET", "/stats");
  // In sequential pacing the settle pauses are idle time for both sides; the CPU share is over the whole phase.
  const conv = samples.map((s) => s.convergenceMs).filter((x) => Number.isFinite(x));
  const taken = Math.max(1, samples.filter((s) => !s.notTaken).length);
  const bytes = after.bytesReceived - before.bytesReceived;
  const wallS = (end - start) / 1000;
  return {
    count: samples.length,
    skipped,
    samples,
    convergenceMs: { p50: percentile(conv, 50), p99: percentile(conv, 99), max: conv.length ? Math.max(...conv) : NaN },
    timedOut: samples.filter((s) => s.timedOut).length,
    notTaken: samples.filter((s) => s.notTaken).length,
    serverCpuS: cpuS,
    // Per update the server took: CPU spent on updates it never took is spent on the ones it did.
    serverCpuSPerUpdate: cpuS / taken,
    replicaCpuSPerUpdate: replicaCpuS?.map((c) => c / taken),
    bytesReceived: bytes,
    bytesPerUpdate: bytes / taken,
    wallS,
    offeredRatePerS: samples.length > 1 ? (samples.length - 1) / ((samples[samples.length - 1].t0 - samples[0].t0) / 1000) : NaN,
    sustainedRatePerS: sustainedRate(samples),
    stepAcceptedMs: {
      p50: percentile(
        samples.filter((x) => !x.notTaken).map((x) => x.stepReturnedMs),
        50,
      ),
      p99: percentile(
        samples.filter((x) => !x.notTaken).map((x) => x.stepReturnedMs),
        99,
      ),
    },
    serverEventLoopDelayP99Ms: serverStats.eventLoopDelayP99Ms,
    serverEventLoopDelayMaxMs: serverStats.eventLoopDelayMaxMs,
    loadgenCpuS: gcpuS,
    loadgenCpuShare: gcpuS / wallS,
    loadgenCpuShareConverging: scenario.pacing.mode === "sequential" ? gcpuS / (conv.reduce((a, b) => a + b, 0) / 1000) : undefined,
    loadgenEventLoopDelayP99Ms: after.eventLoopDelayP99Ms,
    loadgenHandleP99Us: after.handle?.p99Us,
  };
}

/**
 * Updates delivered to every client per second: the converged updates over the time from the first offer to the
 * last convergence. A server that keeps up delivers at the offered rate; one that falls behind delivers its own
 * (a coalescing server may deliver several steps at once: each counts, it did bring every client up to date). An
 * update that never converged does not count, but the time spent waiting for it does not either.
 */
function sustainedRate(samples: UpdateSample[]): number {
  const done = samples.filter((x) => Number.isFinite(x.convergedAt));
  if (done.length < 2) return NaN;
  const span = Math.max(...done.map((x) => x.convergedAt)) - Math.min(...samples.map((x) => x.t0));
  return done.length / (span / 1000);
}

/** POST /gc on a server (bench/README.md), then its heap in use a second later; undefined if it cannot. */
async function heapAfterForcedGc(controlPort: number): Promise<number | undefined> {
  try {
    await controlRequest(controlPort, "POST", "/gc", undefined, 60_000);
    await sleep(1000);
    return (await controlRequest<{ heapUsedBytes: number }>(controlPort, "GET", "/stats")).heapUsedBytes;
  } catch (err) {
    console.error(`    (no forced GC: ${(err as Error).message})`);
    return undefined;
  }
}
