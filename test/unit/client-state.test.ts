// What a client holds (ClientTypeState.acked) against what it was sent: the client keeps what it ACKed last while a
// response is in flight and after a NACK; status (node-diff.ts) and CSDS read it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { resourceType } from "../../src/resource/types.js";
import { ClientTypeState } from "../../src/server/client-state.js";
import { Subscription } from "../../src/server/subscription.js";

const eds = resourceType(TypeUrl.ClusterLoadAssignment);
const entries = (m: ReadonlyMap<string, string>) => [...m].sort();

test("acked is sent as of the last ACK: kept through a response in flight and a NACK, moved by the next ACK", () => {
  const state = new ClientTypeState(eds, new Subscription(false));
  assert.deepEqual(entries(state.acked), [], "nothing held before the first ACK");
  state.holdExactly(
    new Map([
      ["a", "1"],
      ["b", "1"],
    ]),
  );
  assert.deepEqual(entries(state.acked), [], "sent, not ACKed yet");
  state.recordAck("v1", 0);
  assert.deepEqual(entries(state.acked), [
    ["a", "1"],
    ["b", "1"],
  ]);

  state.recordSent("a", "2");
  state.recordSent("c", "1");
  state.forgetSent("b");
  state.recordSent("a", "3"); // a second change of one name keeps its version as of the ACK
  assert.deepEqual(entries(state.sent), [
    ["a", "3"],
    ["c", "1"],
  ]);
  assert.deepEqual(
    entries(state.acked),
    [
      ["a", "1"],
      ["b", "1"],
    ],
    "in flight: the client still holds what it ACKed",
  );
  state.recordNack(3, "rejected", 1);
  assert.deepEqual(
    entries(state.acked),
    [
      ["a", "1"],
      ["b", "1"],
    ],
    "after a NACK too",
  );
  state.recordAck("v2", 2);
  assert.deepEqual(entries(state.acked), [
    ["a", "3"],
    ["c", "1"],
  ]);

  // A whole new set sent (a full-state response): until its ACK the client holds the previous one.
  state.recordSent("d", "1");
  state.holdExactly(new Map([["x", "1"]]));
  state.recordSent("y", "1");
  assert.deepEqual(entries(state.acked), [
    ["a", "3"],
    ["c", "1"],
  ]);
  state.recordAck("v3", 3);
  assert.deepEqual(entries(state.acked), [
    ["x", "1"],
    ["y", "1"],
  ]);
});

test("a change after an ACK does not copy what was sent: the record is kept as what changed (40 ms per change on 500 streams)", () => {
  const state = new ClientTypeState(eds, new Subscription(false));
  state.holdExactly(new Map(Array.from({ length: 500 }, (_, i) => [`c${i}`, "1"])));
  state.recordSent("c0", "2"); // the shared map is copied once, at its first change
  state.recordAck("v1", 0);
  const sent = state.sent;
  state.recordSent("c1", "2");
  assert.equal(state.sent, sent, "the same map, changed in place");
  assert.equal(state.acked.get("c1"), "1");
});
