// The daemon's config update path without the file watch: `node dist/bench/config-reload.js [--clusters 500]
// [--endpoints 10] [--changes 30]`. Scenario A's shape (N clusters × M endpoints); each change moves one cluster's
// endpoints, as an atomic rename would. Per change, the CPU of the whole path — read the text, validate and
// translate it (the config worker's part), hand the snapshots to the main thread and publish them to a cache with
// one watcher per type — measured with process.cpuUsage() (all threads), median and max over the changes, for:
//   full         every change parsed with positions and translated from scratch (the path before the cache);
//   incremental  the fast reader and the translation cache, in this thread;
//   worker       what the daemon does: the same through its ConfigLoader (the config worker thread, the transfer
//                of the encoded snapshots) and a publish on the main thread.
// Writing the file is measured too (it is small next to the rest); watching it is not.
//
// --fixture FILE: instead of the short form, the file the daemon bench writes (lib/daemon-config.ts: a bench
// fixture's resources as raw Envoy resources, one per line), each change one step of the fixture.
import { parseArgs } from "node:util";
import { SnapshotCache } from "../src/cache/snapshot-cache.js";
import { publish, snapshotsOf } from "../src/config/snapshots.js";
import { snapshotsOfText } from "../src/merge/merged-load.js";
import { parseConfig, readConfigText } from "../src/config/load.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TranslationCache } from "../src/config/translation-cache.js";
import { fromTransferable, toTransferable } from "../src/daemon/transferable-snapshots.js";
import { DaemonConfigText, shortFormConfig } from "./harness/lib/daemon-config.js";
import { readFixture } from "./harness/lib/fixture-file.js";
import { ConfigLoader } from "../src/daemon/config-loader.js";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "500" },
    endpoints: { type: "string", default: "10" },
    changes: { type: "string", default: "30" },
    fixture: { type: "string" },
  },
});
const clusters = Number(values.clusters);
const endpoints = Number(values.endpoints);
const changes = Number(values.changes);
const file = join(mkdtempSync(join(tmpdir(), "xdsd-bench-")), "a.yaml");

const fixtureTexts = values.fixture ? daemonTexts(values.fixture) : undefined;

/** Step i's daemon config file for a bench fixture, for every step up to --changes. */
function daemonTexts(path: string): string[] {
  const fixture = readFixture(path);
  const config = new DaemonConfigText();
  const texts: string[] = [];
  for (let i = 0; i <= Math.min(changes, fixture.steps.length - 1); i++) texts.push(config.apply(fixture.steps[i]).text());
  if (texts.length <= changes) throw new Error(`${path} has ${fixture.steps.length} steps, --changes ${changes} needs ${changes + 1}`);
  return texts;
}

function configText(version: number): string {
  return fixtureTexts ? fixtureTexts[version] : shortFormConfig(clusters, endpoints, version, "cluster-");
}

function cpuMs(f: () => void): number {
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

function run(mode: "full" | "incremental"): number[] {
  const cache = new SnapshotCache();
  const translations = new TranslationCache();
  const load = (written: string) => {
    writeFileSync(file, written);
    const text = readConfigText(file); // in the measured part: the worker reads the file
    const snapshots = mode === "full" ? snapshotsOf(parseConfig(text, "a.yaml")) : snapshotsOfText(text, "a.yaml", {}, translations);
    // What crosses to the main thread: structured-cloned as postMessage does, the encoded bytes transferred.
    const { payload, transfer } = toTransferable(snapshots);
    publish(cache, fromTransferable(structuredClone(payload, { transfer })));
  };
  load(configText(0));
  const samples: number[] = [];
  for (let v = 1; v <= changes; v++) {
    const text = configText(v);
    samples.push(cpuMs(() => load(text)));
  }
  return samples;
}

/** The daemon's path: ConfigLoader on its worker thread, then publish; CPU of all threads per change. */
const loader = new ConfigLoader(); // one worker for both passes, as the daemon keeps one: the second runs warm

async function runWorker(): Promise<number[]> {
  const cache = new SnapshotCache();
  let version: string | undefined;
  const load = async (written: string) => {
    writeFileSync(file, written);
    const r = await loader.load(file, { knownVersion: version });
    version = r.version;
    if (r.kind === "loaded") publish(cache, r.snapshots);
  };
  await load(configText(0));
  const samples: number[] = [];
  for (let v = 1; v <= changes; v++) {
    const text = configText(v);
    const before = process.cpuUsage();
    await load(text);
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / 1000);
  }
  return samples;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  fixtureTexts
    ? `config: ${values.fixture} as raw resources (${configText(0).length} bytes), ${changes} steps`
    : `config: ${clusters} clusters × ${endpoints} endpoints (${configText(0).length} bytes), ${changes} changes of one cluster`,
);
const modes = (process.env.MODES ?? "full,incremental,worker").split(",") as ("full" | "incremental" | "worker")[];
for (const mode of modes) {
  // The first pass is a warm-up (JIT); the second is measured.
  if (mode === "worker") await runWorker();
  else run(mode);
  const samples = mode === "worker" ? await runWorker() : run(mode);
  console.log(`${mode.padEnd(12)} CPU per change: median ${median(samples).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`);
}
await loader.close();
