// One clock for every bench process: milliseconds since the Unix epoch with sub-millisecond resolution.
// performance.now() is monotonic within a process; adding timeOrigin makes readings of the driver and of the load
// generator comparable (the driver also measures the residual offset between them, see driver/clock-offset.ts).
import { performance } from "node:perf_hooks";

export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
