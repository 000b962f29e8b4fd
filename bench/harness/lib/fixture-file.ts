// The fixture file (bench/README.md, "Fixture format"): the contract between the driver, every server and the
// load generator. This module reads and writes it and replays its steps into a state; it knows nothing of any
// server.
import { readFileSync, writeFileSync } from "node:fs";

export interface FixtureResourceJson {
  typeUrl: string;
  name: string;
  /** base64 of the encoded message */
  value: string;
}

export interface FixtureJson {
  scenario: string;
  steps: { upserts: FixtureResourceJson[]; removes: { typeUrl: string; name: string }[] }[];
}

export interface FixtureResource {
  typeUrl: string;
  name: string;
  value: Buffer;
}

export interface FixtureStep {
  upserts: FixtureResource[];
  removes: { typeUrl: string; name: string }[];
}

export interface Fixture {
  scenario: string;
  steps: FixtureStep[];
}

export function readFixture(path: string): Fixture {
  const json = JSON.parse(readFileSync(path, "utf8")) as FixtureJson;
  if (!Array.isArray(json.steps) || json.steps.length === 0) throw new Error(`${path}: a fixture needs at least step 0`);
  return {
    scenario: json.scenario,
    steps: json.steps.map((s) => ({
      upserts: (s.upserts ?? []).map((u) => ({ typeUrl: u.typeUrl, name: u.name, value: Buffer.from(u.value, "base64") })),
      removes: s.removes ?? [],
    })),
  };
}

export function writeFixture(path: string, fixture: Fixture): void {
  const json: FixtureJson = {
    scenario: fixture.scenario,
    steps: fixture.steps.map((s) => ({
      upserts: s.upserts.map((u) => ({ typeUrl: u.typeUrl, name: u.name, value: u.value.toString("base64") })),
      removes: s.removes,
    })),
  };
  writeFileSync(path, JSON.stringify(json));
}

/** The state of the world: type URL → name → encoded resource. */
export type FixtureState = Map<string, Map<string, Buffer>>;

/** Applies one step to a state in place and returns the type URLs it changed. */
export function applyStep(state: FixtureState, step: FixtureStep): Set<string> {
  const changed = new Set<string>();
  for (const u of step.upserts) {
    let names = state.get(u.typeUrl);
    if (!names) state.set(u.typeUrl, (names = new Map()));
    names.set(u.name, u.value);
    changed.add(u.typeUrl);
  }
  for (const r of step.removes) {
    if (state.get(r.typeUrl)?.delete(r.name)) changed.add(r.typeUrl);
  }
  return changed;
}
