// Event-loop delay as the issue means it: how late the loop ran a timer, in ms. perf_hooks' monitor records the
// whole interval between its timer's runs (an idle loop reads ≈ the resolution, not 0), so the resolution is
// subtracted. 10 ms resolution: fine enough for stalls that matter, too coarse to cost anything.
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

const resolutionMs = 10;

export function loopDelayMonitor(): IntervalHistogram {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  return h;
}

/** A histogram value (ns) as a delay beyond the sampling interval, in ms. */
export function delayMs(ns: number): number {
  return Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e6 - resolutionMs) : 0;
}
