// The config history of the dashboard's Changes page (daemon/change-history.ts): each publish with its source and
// what it added, modified and removed per node group (content before and after, never a secret's), its rollout's
// ACKs over time from the rollouts (server/observers/rollouts.ts), and a bounded number of versions kept.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Snapshot } from "../../src/cache/snapshot.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { ChangeHistory, maxChangesShown } from "../../src/daemon/change-history.js";
import { SecretSchema } from "../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { Rollouts } from "../../src/server/observers/rollouts.js";
import type { StreamInfo } from "../../src/server/observers/events.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { edsCluster, endpoints, node, twoClusters } from "../support/resources.js";

function harness(size?: number) {
  const cache = new SnapshotCache();
  const sweeps = new Set<() => void>();
  const rollouts = new Rollouts({
    cache,
    pendingPushes: () => 0,
    schedule: (run) => {
      sweeps.add(run);
      return () => void sweeps.delete(run);
    },
  });
  let wall = Date.parse("2026-01-01T00:00:00Z");
  const told: number[] = [];
  const history = new ChangeHistory({ cache, size, now: () => wall, onChange: (seq) => told.push(seq) });
  rollouts.observe(history);
  const connect = (id: string): StreamInfo => {
    const info: StreamInfo = { id: 1, protocol: "sotw", service: "ads", peer: "127.0.0.1:1", openedAt: 0, node: node(id, "c1") };
    info.nodeKey = cache.nodeKey(info.node!);
    rollouts.nodeIdentified(info);
    return info;
  };
  return {
    cache,
    rollouts,
    history,
    told,
    connect,
    later: (ms: number) => void (wall += ms),
    /** The rollouts' sweeps and queued checks, as the event loop would run them. */
    async settle() {
      await new Promise(setImmediate);
      for (const run of [...sweeps]) {
        sweeps.delete(run);
        run();
      }
      await new Promise(setImmediate);
    },
  };
}

test("each publish is recorded with its source and its changes per group, content before and after", () => {
  const h = harness();
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.1:80"));
  h.history.published("v1", "file");
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.9:80"));
  h.history.published("v2", "api", "deploy");
  const [second, first] = h.history.list();
  assert.deepEqual([first.version, first.source, second.version, second.source], ["v1", "file", "v2", "api"]);
  assert.deepEqual([first.by, second.by], [undefined, "deploy"], "an API write names its token's name");
  assert.deepEqual(first.counts, { added: 4, modified: 0, removed: 0 }, "clusters a and b and their endpoints");
  assert.deepEqual(second.counts, { added: 0, modified: 1, removed: 0 });
  const [change] = second.changes;
  assert.deepEqual([change.group, change.type, change.name, change.change], ["c1/n1", "eds", "a", "modified"]);
  assert.match(JSON.stringify(change.before), /10\.0\.0\.1/);
  assert.match(JSON.stringify(change.after), /10\.0\.0\.9/);
  assert.deepEqual(h.told, [1, 2], "the live feed is told of each entry");
});

test("removed resources are changes; a secret's content is never kept", () => {
  const h = harness();
  const secret = create(SecretSchema, {
    name: "key",
    type: { case: "genericSecret", value: { secret: { specifier: { case: "inlineString", value: "PRIVATE" } } } },
  });
  h.cache.setSnapshot("g", Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80"), secret]));
  h.history.published("v1", "file");
  h.cache.setSnapshot("g", Snapshot.from([]));
  h.history.published("v2", "store");
  const [second, first] = h.history.list();
  const added = first.changes.find((c) => c.type === "sds");
  assert.ok(added, JSON.stringify(first.changes));
  assert.equal(added.before, undefined);
  assert.equal(added.after, undefined);
  assert.doesNotMatch(JSON.stringify(h.history.list()), /PRIVATE/);
  assert.deepEqual(second.changes.map((c) => `${c.change} ${c.type} ${c.name}`).sort(), ["removed cds a", "removed eds a", "removed sds key"]);
  assert.equal(second.changes[0].after, undefined);
});

test("the rollout: clients concerned, each ACK's time after the publish, and when the last settled", async () => {
  const h = harness();
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.1:80"));
  h.history.published("v1", "file");
  const s = h.connect("n1");
  h.cache.setSnapshot("c1/n1", twoClusters("10.0.0.2:80"));
  h.history.published("v2", "api");
  h.rollouts.response(s, { typeUrl: TypeUrl.ClusterLoadAssignment, versionInfo: "x", nonce: "1", resources: [], bytes: 1 });
  await h.settle();
  assert.equal(h.history.list()[0].rollout.doneMs, undefined, "under way: the EDS response is not ACKed yet");
  h.later(40);
  h.rollouts.request(s, { typeUrl: TypeUrl.ClusterLoadAssignment });
  h.rollouts.ack(s, TypeUrl.ClusterLoadAssignment);
  await h.settle();
  const { rollout } = h.history.list()[0];
  assert.deepEqual(rollout, { groups: 1, clients: 1, settled: 1, acked: 1, ackMs: [40], results: { acked: 1 }, doneMs: 40 });
  assert.equal(h.history.list()[1].rollout.clients, 0, "nobody was connected at v1");
});

test("the history keeps the latest versions only, and at most maxChangesShown resources' content each", () => {
  const h = harness(2);
  for (let v = 1; v <= 3; v++) {
    h.cache.setSnapshot("g", Snapshot.from(Array.from({ length: maxChangesShown + 5 }, (_, i) => endpoints(`c${v}-${i}`, "10.0.0.1:80"))));
    h.history.published(`v${v}`, "file");
  }
  const list = h.history.list();
  assert.deepEqual(
    list.map((e) => e.version),
    ["v3", "v2"],
  );
  assert.equal(h.history.get(1), undefined);
  assert.equal(list[0].changes.length, maxChangesShown);
  assert.equal(list[0].omitted, 2 * (maxChangesShown + 5) - maxChangesShown, "the rest counted");
  assert.deepEqual(list[0].counts, { added: maxChangesShown + 5, modified: 0, removed: maxChangesShown + 5 });
});
