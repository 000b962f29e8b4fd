// The push scheduler spreads a fan-out over event-loop turns and runs a stream queued twice once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PushScheduler } from "../../src/server/push-scheduler.js";

const turn = () => new Promise((r) => setImmediate(r));

test("at most batchSize pushes per turn, each queued push runs once, in order", async () => {
  const scheduler = new PushScheduler(2);
  const ran: number[] = [];
  const pushes = [0, 1, 2, 3, 4].map((i) => () => ran.push(i));
  for (const p of pushes) scheduler.schedule(p);
  scheduler.schedule(pushes[0]); // already queued: not twice
  assert.deepEqual(ran, [], "nothing runs synchronously");
  assert.equal(scheduler.pending, 5);
  await turn();
  assert.deepEqual(ran, [0, 1]);
  await turn();
  assert.deepEqual(ran, [0, 1, 2, 3]);
  await turn();
  assert.deepEqual(ran, [0, 1, 2, 3, 4]);
  assert.equal(scheduler.pending, 0);
  scheduler.schedule(pushes[1]);
  await turn();
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 1], "a push queued again after it ran runs again");
});

test("a turn also ends once it has run turnMs: the first pushes' bytes leave before the rest are computed", async () => {
  let clock = 0;
  const scheduler = new PushScheduler(256, 2, () => clock);
  const ran: number[] = [];
  // Each push takes 1 ms of the (fake) clock: two fit in a turn of 2 ms, not 256.
  for (let i = 0; i < 5; i++)
    scheduler.schedule(() => {
      ran.push(i);
      clock += 1;
    });
  await turn();
  assert.deepEqual(ran, [0, 1]);
  await turn();
  assert.deepEqual(ran, [0, 1, 2, 3]);
  await turn();
  assert.deepEqual(ran, [0, 1, 2, 3, 4]);
});
