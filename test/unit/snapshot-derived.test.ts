// A snapshot made by update() knows what changed since its parent, and uses it: its type versions, its
// changesSince(parent) and its consistency check cost what changed. Whatever the sequence of updates, each of those
// must equal what a snapshot built from scratch with the same resources says (property-tested).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { SnapshotInconsistentError } from "../../src/errors.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { edsCluster, endpoints } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const names = ["a", "b", "c", "d", "e"];

/** A step: upsert cluster+endpoints of a name at some address, or remove both. */
const step = fc.record({ name: fc.constantFrom(...names), remove: fc.boolean(), port: fc.integer({ min: 1, max: 4 }) });

function all(s: Snapshot) {
  return s.typeUrls().flatMap((t) => [...s.resources(t).values()]);
}

test("property: versions and changes of derived snapshots equal those of snapshots built from scratch", () => {
  fc.assert(
    fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), (updates) => {
      let s = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:1")]);
      s.typeVersion(CDS); // the parent's set hash exists for CDS and not for EDS: both ways are exercised
      for (const batch of updates) {
        const seen = new Set<string>();
        const unique = batch.filter((x) => !seen.has(x.name) && seen.add(x.name));
        const next = s.update({
          upsert: unique.filter((x) => !x.remove).flatMap((x) => [edsCluster(x.name), endpoints(x.name, `10.0.0.1:${x.port}`)]),
          remove: unique
            .filter((x) => x.remove)
            .flatMap((x) => [
              { typeUrl: CDS, name: x.name },
              { typeUrl: EDS, name: x.name },
            ]),
        });
        const scratch = Snapshot.from(all(next));
        for (const t of [CDS, EDS]) {
          assert.equal(next.typeVersion(t), scratch.typeVersion(t), `type version of ${t}`);
          const fast = next.changesSince(s, t);
          const slow = Snapshot.from(all(next)).changesSince(s, t);
          assert.deepEqual(
            [fast.changed.map((r) => r.name).sort(), [...fast.removed].sort()],
            [slow.changed.map((r) => r.name).sort(), [...slow.removed].sort()],
            `changes of ${t}`,
          );
        }
        s = next;
      }
    }),
    { numRuns: 300 },
  );
});

test("a derived snapshot that adds a cluster without its endpoints is refused; a removal is checked in full", () => {
  const cache = new SnapshotCache();
  const base = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]);
  cache.setSnapshot("k", base);
  assert.throws(() => cache.setSnapshot("k", base.update({ upsert: [edsCluster("b")] })), SnapshotInconsistentError);
  const fine = base.update({ upsert: [edsCluster("b"), endpoints("b", "10.0.0.2:80")] });
  cache.setSnapshot("k", fine);
  assert.throws(() => cache.setSnapshot("k", fine.update({ remove: [{ typeUrl: EDS, name: "b" }] })), SnapshotInconsistentError);
});

test("the version of a set does not depend on order, and changes with any entry", () => {
  const a = Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a"), endpoints("b")]);
  const b = Snapshot.from([endpoints("b"), edsCluster("b"), endpoints("a"), edsCluster("a")]);
  assert.equal(a.typeVersion(CDS), b.typeVersion(CDS));
  assert.notEqual(a.typeVersion(EDS), a.update({ upsert: [endpoints("a", "10.0.0.9:1")] }).typeVersion(EDS));
  assert.notEqual(a.typeVersion(CDS), Snapshot.from([edsCluster("a")]).typeVersion(CDS));
});
