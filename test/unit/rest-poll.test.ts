// The REST poll state machine alone (no HTTP): what it remembers of pollers is bounded in time and count, every
// poller is reported opened and closed like a stream, and the bytes of a poll are not trusted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toJsonString } from "@bufbuild/protobuf";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { DiscoveryRequestSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { RestPolls } from "../../src/server/protocol/rest-poll.js";
import { restServices } from "../../src/server/protocol/rest-service.js";
import type { StreamInfo } from "../../src/server/observers/events.js";
import { node, twoClusters } from "../support/resources.js";

const cds = restServices.find((s) => s.label === "rest-cds")!;
const body = (id: string, versionInfo = "") =>
  new TextEncoder().encode(toJsonString(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node: node(id), versionInfo })));

function polls(options: { idleMs?: number; maxClients?: number }) {
  const cache = new SnapshotCache();
  cache.setDefaultSnapshot(twoClusters());
  const opened: StreamInfo[] = [];
  const closed: [number, string][] = [];
  let id = 0;
  const p = new RestPolls(
    { source: cache, events: { streamOpened: (s) => opened.push(s), streamClosed: (s, why) => closed.push([s.id, why]) } },
    () => ++id,
    options,
  );
  return { p, opened, closed };
}

test("the REST paths are read from the protos: one per type with a Fetch method", () => {
  assert.deepEqual(
    restServices.map((s) => s.path),
    [
      "/v3/discovery:clusters",
      "/v3/discovery:endpoints",
      "/v3/discovery:listeners",
      "/v3/discovery:routes",
      "/v3/discovery:scoped-routes",
      "/v3/discovery:secrets",
      "/v3/discovery:runtime",
      "/v3/discovery:extension_configs",
    ],
  );
});

test("a poller idle past idleMs is forgotten (and reported closed); one that keeps polling is kept", () => {
  const { p, opened, closed } = polls({ idleMs: 1000 });
  assert.equal(p.answer(cds, body("a"), "peer", 0).status, 200);
  assert.equal(p.answer(cds, body("b"), "peer", 0).status, 200);
  p.answer(cds, body("b"), "peer", 900);
  p.sweep(1500);
  assert.deepEqual(closed, [[opened[0].id, "no poll for too long"]]);
  assert.deepEqual(
    p.pollers().map((s) => s.node?.id),
    ["b"],
  );
});

test("past maxClients the least recently seen poller is forgotten: invented node ids cannot grow memory", () => {
  const { p, closed } = polls({ maxClients: 3 });
  for (let i = 0; i < 10; i++) p.answer(cds, body(`n${i}`), "peer", i);
  assert.equal(p.pollers().length, 3);
  assert.equal(closed.length, 7);
  assert.deepEqual(
    p.pollers().map((s) => s.node?.id),
    ["n7", "n8", "n9"],
  );
});

test("bytes that are not UTF-8 are a 400, not a crash", () => {
  const { p } = polls({});
  const answer = p.answer(cds, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "peer");
  assert.equal(answer.status, 400);
  assert.match(JSON.parse(answer.body!).message, /not a DiscoveryRequest/);
});
