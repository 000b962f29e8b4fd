// The scenarios of the benchmark issue, as data: how many proxies, how they connect, what the fixture holds, how
// updates are paced and which figures the scenario is judged on. The drivers (run.ts, endpoint-scaling.ts) are
// generic over these.
import type { FixtureParams } from "./fixtures.js";

export type ScenarioId = "A" | "B" | "C" | "D" | "E" | "F";

export interface Scenario {
  id: ScenarioId;
  title: string;
  clients: number;
  /** Clients start connecting evenly over this many milliseconds. */
  connectSpreadMs: number;
  fixture: FixtureParams;
  /**
   * "rate": open loop, step i is applied at i/perSecond seconds whatever the state of earlier updates (the churn
   * the issue describes). "sequential": each update waits for the previous one to converge plus `settleMs`, so
   * that updates do not overlap (a fan-out of ~1 GB per update would otherwise measure queueing, not fan-out).
   */
  pacing: { mode: "rate"; perSecond: number } | { mode: "sequential"; settleMs: number };
  /** Disconnect every client at the end and watch server memory return to its baseline. */
  measureDisconnect: boolean;
  /** Longest wait for all clients to hold their initial config. */
  initialTimeoutMs: number;
  /**
   * How go-control-plane's documentation and maintainers would run this workload (bench/reference flags): a
   * LinearCache for endpoint churn, so a change re-marshals only the assignment that changed, and per-type versions
   * everywhere, so a cluster change does not resend every assignment. `--go-args` replaces them.
   */
  goReferenceArgs: readonly string[];
}

export const scenarios: Record<ScenarioId, Scenario> = {
  A: {
    id: "A",
    goReferenceArgs: ["--linear-eds", "--per-type-versions"],
    title: "EDS churn: 1,000 clients, 500 clusters × 10 endpoints, 10 endpoint changes/s for 60 s",
    clients: 1000,
    connectSpreadMs: 2000,
    fixture: { clusters: 500, endpointsPerCluster: 10, listeners: 0, steps: 600, change: "endpoint" },
    pacing: { mode: "rate", perSecond: 10 },
    measureDisconnect: false,
    initialTimeoutMs: 120_000,
  },
  B: {
    id: "B",
    goReferenceArgs: ["--linear-eds", "--per-type-versions"],
    title: "Big cluster: 100 clients, 1 cluster × 10,000 endpoints, 1 change/s for 60 s",
    clients: 100,
    connectSpreadMs: 1000,
    fixture: { clusters: 1, endpointsPerCluster: 10_000, listeners: 0, steps: 60, change: "endpoint" },
    pacing: { mode: "rate", perSecond: 1 },
    measureDisconnect: false,
    initialTimeoutMs: 60_000,
  },
  C: {
    id: "C",
    goReferenceArgs: ["--per-type-versions"],
    title: "CDS fan-out: 1,000 clients, 1,000 clusters (~1 MB), change one cluster (5 changes, one at a time)",
    clients: 1000,
    connectSpreadMs: 2000,
    // The issue asks for one change; five sequential ones (each a different cluster) give a median per run at a
    // cost of a few seconds. `--steps 1` gives exactly the single change.
    fixture: { clusters: 1000, endpointsPerCluster: 10, listeners: 0, steps: 5, change: "cluster" },
    pacing: { mode: "sequential", settleMs: 1000 },
    measureDisconnect: false,
    initialTimeoutMs: 180_000,
  },
  D: {
    id: "D",
    goReferenceArgs: ["--per-type-versions"],
    title: "Connect storm: 5,000 clients within 1 s, 500 clusters + endpoints + 10 listeners",
    clients: 5000,
    connectSpreadMs: 1000,
    fixture: { clusters: 500, endpointsPerCluster: 10, listeners: 10, steps: 0, change: "none" },
    pacing: { mode: "sequential", settleMs: 0 },
    measureDisconnect: true,
    initialTimeoutMs: 300_000,
  },
  E: {
    id: "E",
    goReferenceArgs: ["--per-type-versions"],
    title: "Idle: 10,000 streams, small config; memory only",
    clients: 10_000,
    // Memory, not a storm: connect at ~1,000/s.
    connectSpreadMs: 10_000,
    fixture: { clusters: 5, endpointsPerCluster: 3, listeners: 1, steps: 0, change: "none" },
    pacing: { mode: "sequential", settleMs: 0 },
    measureDisconnect: true,
    initialTimeoutMs: 120_000,
  },
  F: {
    id: "F",
    goReferenceArgs: ["--linear-eds", "--per-type-versions"],
    title: "Endpoint change as the config grows: 100 clients, N clusters × 20 endpoints (500 unless --clusters), one endpoint change at a time",
    clients: 100,
    connectSpreadMs: 1000,
    // One endpoint of one cluster per update, whatever the size: what a server sends and spends per update should
    // not grow with the clusters it did not change. endpoint-scaling.ts runs it at 50, 500 and 5,000 clusters.
    fixture: { clusters: 500, endpointsPerCluster: 20, listeners: 0, steps: 50, change: "endpoint" },
    // Sequential: an update at a time, so the bytes and CPU of each are its own (no coalescing of updates).
    pacing: { mode: "sequential", settleMs: 100 },
    measureDisconnect: false,
    initialTimeoutMs: 180_000,
  },
};
