// xdsd under test, used exactly as an application would use the library: messages in, Snapshot.from, one default
// snapshot for every node (the fixture is one shared group), XdsServer on grpc-js. Kept thin on purpose: what is
// measured is the library, so nothing here second-guesses it.
//
// --reuse-encoded: pass the unchanged resources to Snapshot.from as the EncodedResource of the previous snapshot
// instead of as messages, so that only the changed resources are encoded per step. Off by default (the plain
// "rebuild from messages" path is the one most applications write); the difference it makes shows how much of a
// step's cost is re-encoding.
// --update: derive each step's snapshot from the previous one with `snapshot.update({upsert, remove})` — the
// library's incremental path (what go-control-plane's LinearCache is to its snapshots): the step's cost is then
// what the step changed, not what the snapshot holds. Off by default, so that scenarios A–E keep measuring the
// rebuild path their recorded figures were taken with.
import { fromBinary, type Message } from "@bufbuild/protobuf";
import { Snapshot, SnapshotCache, XdsServer, type EncodedResource } from "../../../src/index.js";
import { resourceType } from "../../../src/resource/types.js";
import { readFixture, type FixtureStep } from "../lib/fixture-file.js";
import { runControl, serverArgs } from "./node-control.js";

const args = serverArgs({ "reuse-encoded": { type: "boolean" }, update: { type: "boolean" } });
const reuseEncoded = args.flags["reuse-encoded"] === true;
const incremental = args.flags.update === true;
const fixture = readFixture(args.fixture);

/** The current state: "typeUrl\0name" → decoded message. */
const state = new Map<string, Message>();
let step = 0;
let snapshot: Snapshot | undefined;

function apply(s: FixtureStep): Set<string> {
  const changed = new Set<string>();
  for (const u of s.upserts) {
    const key = `${u.typeUrl}\u0000${u.name}`;
    state.set(key, fromBinary(resourceType(u.typeUrl).schema, u.value));
    changed.add(key);
  }
  for (const r of s.removes) state.delete(`${r.typeUrl}\u0000${r.name}`);
  return changed;
}

function build(changed: Set<string>, s: FixtureStep): Snapshot {
  if (incremental && snapshot) {
    return snapshot.update({
      upsert: [...changed].filter((key) => state.has(key)).map((key) => state.get(key)!),
      remove: s.removes.map((r) => ({ typeUrl: r.typeUrl, name: r.name })),
    });
  }
  if (!reuseEncoded || !snapshot) return Snapshot.from(state.values());
  const previous = snapshot;
  const items: (Message | EncodedResource)[] = [];
  for (const [key, message] of state) {
    const cut = key.indexOf("\u0000");
    const old = changed.has(key) ? undefined : previous.resources(key.slice(0, cut)).get(key.slice(cut + 1));
    items.push(old ?? message);
  }
  return Snapshot.from(items);
}

const cache = new SnapshotCache();
snapshot = build(apply(fixture.steps[0]), fixture.steps[0]);
cache.setDefaultSnapshot(snapshot);
const server = new XdsServer({ cache });
await server.listen(`127.0.0.1:${args.xdsPort}`);

await runControl(args.controlPort, {
  step() {
    if (step + 1 >= fixture.steps.length) throw new Error(`no step ${step + 1}: the fixture has ${fixture.steps.length} steps`);
    step++;
    snapshot = build(apply(fixture.steps[step]), fixture.steps[step]);
    cache.setDefaultSnapshot(snapshot);
    return step;
  },
  stats: () => ({ streams: server.streams().length }),
  close: () => server.close(500),
});
