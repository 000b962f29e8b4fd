// The REST poll state machine alone (no HTTP): what it remembers of pollers is bounded in time, count and bytes,
// every poller is reported opened and closed like a stream, and the bytes of a poll are not trusted.
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

function polls(options: { idleMs?: number; maxClients?: number; maxBytes?: number }) {
  const cache = new SnapshotCache();
  cache.setDefaultSnapshot(twoClusters());
  const opened: StreamInfo[] = [];
  const closed: [number, string][] = [];
  let id = 0;
  const p = new RestPolls(
    { source: cache, clients: { clients: () => [] }, events: { streamOpened: (s) => opened.push(s), streamClosed: (s, why) => closed.push([s.id, why]) } },
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
  assert.match(JSON.parse(answer.body!).detail, /not a DiscoveryRequest/);
});

test("a node over the metadata or id limit is answered 400 naming the limit and its flag, and nothing is remembered", () => {
  const { p, opened } = polls({});
  const poll = (node: object) => p.answer(cds, new TextEncoder().encode(JSON.stringify({ node })), "peer");
  // Issue 18: 1.5 MB of metadata per poll, each poll from another node, took the daemon out of memory.
  const meta = poll({ id: "m", cluster: "c", metadata: { blob: "m".repeat(70_000) } });
  assert.equal(meta.status, 400);
  assert.match(JSON.parse(meta.body!).detail, /^node\.metadata is 700\d\d bytes, over the limit of 65536 \(--max-node-metadata-bytes raises it\)/);
  const id = poll({ id: "i".repeat(5000), cluster: "c" });
  assert.equal(id.status, 400);
  assert.match(JSON.parse(id.body!).detail, /^node\.id is 5000 bytes, over the limit of 4096 \(--max-node-id-bytes raises it\)/);
  assert.deepEqual([p.pollers().length, opened.length, p.retainedBytes], [0, 0, 0]);
});

test("past maxBytes the least recently seen pollers are forgotten: long node ids cannot grow memory", () => {
  const { p, closed } = polls({ maxBytes: 100_000 });
  for (let i = 0; i < 100; i++) assert.equal(p.answer(cds, body(`${"n".repeat(4000)}${i}`), "peer", i).status, 200);
  assert.ok(p.retainedBytes <= 100_000, `${p.retainedBytes} bytes counted`);
  const kept = p.pollers().length;
  assert.ok(kept > 0 && kept < 10, `${kept} pollers kept`);
  assert.equal(closed.length, 100 - kept);
  assert.equal(closed[0][1], "the pollers remembered take too many bytes");
  assert.equal(p.pollers().at(-1)?.node?.id, `${"n".repeat(4000)}99`, "the latest is kept");
});

test("a poller keeps what status shows of its node (id, cluster, user agent), not its metadata or extensions", () => {
  const { p } = polls({});
  const node = {
    id: "a",
    cluster: "c",
    userAgentName: "envoy",
    userAgentBuildVersion: { version: { majorNumber: 1, minorNumber: 40 }, metadata: { big: "b".repeat(10_000) } },
    metadata: { role: "edge" },
    extensions: [{ name: "envoy.filters.http.router", category: "envoy.filters.http" }],
    clientFeatures: ["envoy.lb.does_not_support_overprovisioning"],
  };
  assert.equal(p.answer(cds, new TextEncoder().encode(JSON.stringify({ node })), "peer").status, 200);
  const kept = p.pollers()[0].node!;
  assert.deepEqual([kept.id, kept.cluster, kept.userAgentName], ["a", "c", "envoy"]);
  assert.equal(kept.userAgentVersionType.case, "userAgentBuildVersion");
  assert.deepEqual(kept.userAgentVersionType.value?.metadata, undefined);
  assert.equal(kept.userAgentVersionType.value?.version?.minorNumber, 40);
  assert.deepEqual([kept.metadata, kept.extensions.length, kept.clientFeatures.length], [undefined, 0, 0]);
});
