// The state-of-the-world state machine, rule by rule, with no socket: requests in, responses out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryRequest } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { SotwStream } from "../../src/server/protocol/sotw-stream.js";
import type { SotwResponse } from "../../src/server/protocol/sotw-response.js";
import { grpcMessagePrefix, responseBytes } from "../../src/server/transport/wire-response.js";
import type { NackInfo, StreamInfo } from "../../src/server/observers/events.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { StreamProtocolError } from "../../src/errors.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { edsCluster, endpoints, httpListener, node, routeTo, twoClusters } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

let streamIds = 0;
function harness(opts: { snapshot?: Snapshot; fixedTypeUrl?: string } = {}) {
  const cache = new SnapshotCache();
  if (opts.snapshot) cache.setSnapshot("test/n1", opts.snapshot);
  const sent: SotwResponse[] = [];
  const acks: { typeUrl: string; version: string }[] = [];
  const nacks: NackInfo[] = [];
  const ignored: string[] = [];
  const info: StreamInfo = { id: ++streamIds, protocol: "sotw", service: "ads", openedAt: 0, peer: "test" };
  const stream = new SotwStream({
    source: cache,
    info,
    fixedTypeUrl: opts.fixedTypeUrl,
    send: (r) => sent.push(r),
    events: {
      ack: (_s, typeUrl, version) => acks.push({ typeUrl, version }),
      nack: (_s, n) => nacks.push(n),
      ignored: (_s, _r, why) => ignored.push(why),
    },
  });
  let first = true;
  const request = (init: Partial<Omit<DiscoveryRequest, "$typeName">>) => {
    const req = create(DiscoveryRequestSchema, { node: first ? node("n1") : undefined, ...init });
    first = false;
    stream.handleRequest(req);
  };
  const ack = (r: SotwResponse, names: string[] = []) =>
    request({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names });
  const names = (r: SotwResponse) => r.resources.map((x) => x.name).sort();
  return { cache, stream, sent, acks, nacks, ignored, request, ack, names, info };
}

test("first wildcard CDS request is answered with every cluster, then an ACK is recorded and answered by nothing", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  assert.equal(h.sent.length, 1);
  assert.deepEqual(h.names(h.sent[0]), ["a", "b"]);
  assert.ok(h.sent[0].versionInfo.length > 0);
  assert.ok(h.sent[0].nonce.length > 0);
  h.ack(h.sent[0]);
  assert.equal(h.sent.length, 1);
  assert.deepEqual(h.acks, [{ typeUrl: CDS, version: h.sent[0].versionInfo }]);
});

test("the body plus the nonce field decodes to the DiscoveryResponse the library would encode", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  const r = h.sent[0];
  const decoded = fromBinary(DiscoveryResponseSchema, responseBytes(r));
  assert.equal(decoded.nonce, r.nonce);
  assert.equal(decoded.versionInfo, r.versionInfo);
  assert.equal(decoded.typeUrl, CDS);
  assert.deepEqual(
    decoded.resources.map((a) => a.typeUrl),
    [CDS, CDS],
  );
  const reference = toBinary(
    DiscoveryResponseSchema,
    create(DiscoveryResponseSchema, { versionInfo: r.versionInfo, typeUrl: CDS, resources: r.resources.map((x) => x.any), nonce: r.nonce }),
  );
  assert.deepEqual(new Uint8Array(responseBytes(r)), reference);
});

test("the gRPC message written on node:http2 (header and nonce first, then the body) frames and decodes to the response", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  const r = h.sent[0];
  const message = Buffer.concat([grpcMessagePrefix(r), r.body]);
  assert.equal(message[0], 0, "not compressed");
  assert.equal(message.readUInt32BE(1), message.length - 5, "length prefix covers nonce field and body");
  const decoded = fromBinary(DiscoveryResponseSchema, message.subarray(5));
  assert.deepEqual(decoded, fromBinary(DiscoveryResponseSchema, responseBytes(r)));
  assert.equal(decoded.nonce, r.nonce);
});

test("two streams subscribed alike get the very same body bytes; only the nonce differs", () => {
  const snapshot = twoClusters();
  const h1 = harness({ snapshot });
  const h2 = harness({ snapshot });
  h1.request({ typeUrl: CDS });
  h2.request({ typeUrl: CDS });
  assert.equal(h1.sent[0].body, h2.sent[0].body);
  assert.notEqual(h1.sent[0].nonce, h2.sent[0].nonce);
});

test("streams share what a full-state response sent, yet one stream's unsubscribe does not change another's", () => {
  const snapshot = twoClusters();
  const h1 = harness({ snapshot });
  const h2 = harness({ snapshot });
  h1.request({ typeUrl: CDS, resourceNames: ["a", "b"] });
  h2.request({ typeUrl: CDS, resourceNames: ["a", "b"] });
  h1.ack(h1.sent[0], ["a"]); // h1 forgets "b"
  h2.ack(h2.sent[0], ["a", "b"]);
  assert.equal(h1.sent.length, 1, "unsubscribing needs no answer");
  // Cluster b goes away: h2 still holds it, so its full-state CDS must be re-sent without it.
  const withoutB = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]);
  h1.cache.setSnapshot("test/n1", withoutB);
  h2.cache.setSnapshot("test/n1", withoutB);
  assert.equal(h2.sent.length, 2);
  assert.deepEqual(h2.names(h2.sent[1]), ["a"]);
  assert.equal(h1.sent.length, 1, "h1 no longer holds b: nothing to tell it");
});

test("changes while a response awaits its ACK coalesce into one response with the latest content", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNames: ["a"] });
  assert.equal(h.sent.length, 1);
  h.cache.setSnapshot("test/n1", twoClusters("10.0.0.5:80"));
  h.cache.setSnapshot("test/n1", twoClusters("10.0.0.6:80"));
  h.cache.setSnapshot("test/n1", twoClusters("10.0.0.7:80"));
  assert.equal(h.sent.length, 1, "nothing more is sent before the ACK");
  h.ack(h.sent[0], ["a"]);
  assert.equal(h.sent.length, 2);
  const cla = h.sent[1].resources[0];
  assert.equal(cla.version, twoClusters("10.0.0.7:80").resources(EDS).get("a")!.version);
});

test("a NACK is recorded and the rejected content is not sent again; the next different content is", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]));
  assert.equal(h.sent.length, 2);
  const rejected = h.sent[1];
  h.request({
    typeUrl: CDS,
    versionInfo: h.sent[0].versionInfo,
    responseNonce: rejected.nonce,
    errorDetail: create(StatusSchema, { code: 13, message: "bad cluster" }),
  });
  assert.equal(h.nacks.length, 1);
  assert.equal(h.nacks[0].message, "bad cluster");
  assert.equal(h.nacks[0].rejectedVersion, rejected.versionInfo);
  assert.equal(h.nacks[0].versionInfo, h.sent[0].versionInfo);
  assert.equal(h.sent.length, 2, "rejected content not resent");
  // Re-publishing the same content does not resend it either.
  h.cache.setSnapshot("test/n1", Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]));
  assert.equal(h.sent.length, 2);
  // Different content goes out.
  h.cache.setSnapshot("test/n1", twoClusters());
  assert.equal(h.sent.length, 3);
  assert.deepEqual(h.names(h.sent[2]), ["a", "b"]);
});

test("a request with a stale nonce is not answered", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNames: ["a"] });
  h.ack(h.sent[0], ["a"]);
  h.cache.setSnapshot("test/n1", twoClusters("10.0.0.9:80"));
  assert.equal(h.sent.length, 2);
  h.request({ typeUrl: EDS, resourceNames: ["a", "b"], responseNonce: h.sent[0].nonce });
  assert.equal(h.sent.length, 2);
  assert.match(h.ignored[0], /stale nonce/);
});

test("EDS is answered while the CDS response is still unacknowledged (Envoy holds CDS ACKs during warming)", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  h.request({ typeUrl: EDS, resourceNames: ["a", "b"] });
  assert.deepEqual(
    h.sent.map((r) => r.typeUrl),
    [CDS, EDS],
  );
  assert.deepEqual(h.names(h.sent[1]), ["a", "b"]);
});

test("EDS sends only changed assignments; a named resource that does not exist yet is sent when it appears", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNames: ["a", "b", "c"] });
  assert.deepEqual(h.names(h.sent[0]), ["a", "b"]);
  h.ack(h.sent[0], ["a", "b", "c"]);
  h.cache.setSnapshot("test/n1", twoClusters("10.0.0.3:80"));
  assert.deepEqual(h.names(h.sent[1]), ["a"], "only the changed one");
  h.ack(h.sent[1], ["a", "b", "c"]);
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([
      edsCluster("a"),
      edsCluster("b"),
      edsCluster("c"),
      endpoints("a", "10.0.0.3:80"),
      endpoints("b", "10.0.0.2:80"),
      endpoints("c", "10.0.0.4:80"),
    ]),
  );
  assert.deepEqual(h.names(h.sent[2]), ["c"]);
  assert.notEqual(h.sent[2].versionInfo, h.sent[1].versionInfo);
});

test("legacy wildcard rules: [] → all; ['*','a'] → all; ['a'] → a only; [] → nothing", () => {
  const h = harness({ snapshot: twoClusters() });
  const status = () => h.stream.typeStatus().find((s) => s.typeUrl === CDS)!;
  h.request({ typeUrl: CDS, resourceNames: [] });
  assert.deepEqual(h.names(h.sent[0]), ["a", "b"]);
  assert.equal(status().wildcard, true);
  h.ack(h.sent[0], ["*", "a"]);
  assert.equal(h.sent.length, 1, "same content, nothing new");
  assert.deepEqual([status().wildcard, status().names], [true, ["a"]]);
  h.ack(h.sent[0], ["a"]);
  assert.equal(h.sent.length, 1, "narrowing needs no answer");
  assert.deepEqual([status().wildcard, status().names], [false, ["a"]]);
  const slow = edsCluster("a");
  slow.connectTimeout = { $typeName: "google.protobuf.Duration", seconds: 7n, nanos: 0 };
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([slow, edsCluster("b"), edsCluster("c"), endpoints("a", "1.1.1.1:1"), endpoints("b", "1.1.1.1:2"), endpoints("c", "1.1.1.1:3")]),
  );
  assert.equal(h.sent.length, 2);
  assert.deepEqual(h.names(h.sent[1]), ["a"], "only the named cluster, not the new wildcard-only ones");
  h.ack(h.sent[1], []);
  assert.deepEqual([status().wildcard, status().names], [false, []], "an empty list after naming means nothing");
  h.cache.setSnapshot("test/n1", twoClusters());
  assert.equal(h.sent.length, 2, "nothing is sent to a stream subscribed to nothing");
});

test("an empty first EDS request is not a wildcard", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNames: [] });
  assert.equal(h.sent.length, 0);
  // Taken, not dropped: EDS is subscribed to nothing, and naming a resource then gets exactly that one.
  const eds = h.stream.typeStatus().find((s) => s.typeUrl === EDS);
  assert.deepEqual([eds?.wildcard, eds?.names], [false, []]);
  h.request({ typeUrl: EDS, resourceNames: ["a"] });
  assert.deepEqual(h.names(h.sent[0]), ["a"]);
});

test("unsubscribing then resubscribing resends an unchanged resource", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNames: ["a", "b"] });
  h.ack(h.sent[0], ["a"]);
  assert.equal(h.sent.length, 1);
  h.request({ typeUrl: EDS, versionInfo: h.sent[0].versionInfo, responseNonce: h.sent[0].nonce, resourceNames: ["a", "b"] });
  assert.equal(h.sent.length, 2);
  assert.deepEqual(h.names(h.sent[1]), ["b"]);
});

test("the node is taken from the first request; a first request without one is a protocol error", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  h.ack(h.sent[0]); // no node: accepted
  assert.equal(h.info.nodeKey, "test/n1");
  const cache = new SnapshotCache();
  const bare = new SotwStream({ source: cache, info: { id: 999, protocol: "sotw", service: "ads", openedAt: 0, peer: "x" }, send: () => {} });
  assert.throws(() => bare.handleRequest(create(DiscoveryRequestSchema, { typeUrl: CDS })), StreamProtocolError);
});

test("a snapshot change is pushed in ADS order: CDS, EDS, LDS, RDS", () => {
  const v1 = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80"), httpListener("l", "r"), routeTo("r", "a")]);
  const h = harness({ snapshot: v1 });
  h.request({ typeUrl: RDS, resourceNames: ["r"] });
  h.request({ typeUrl: LDS });
  h.request({ typeUrl: EDS, resourceNames: ["a", "b"] });
  h.request({ typeUrl: CDS });
  for (const r of [...h.sent]) h.ack(r, r.typeUrl === RDS ? ["r"] : r.typeUrl === EDS ? ["a", "b"] : []);
  const before = h.sent.length;
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([
      edsCluster("a"),
      edsCluster("b"),
      endpoints("a", "10.0.0.1:80"),
      endpoints("b", "10.0.0.2:80"),
      httpListener("l", "r", 10001),
      routeTo("r", "b"),
    ]),
  );
  assert.deepEqual(
    h.sent.slice(before).map((r) => r.typeUrl),
    [CDS, EDS, LDS, RDS],
  );
});

test("make before break: a cluster removed with the route that used it is deleted only after the route change is ACKed", () => {
  const v1 = Snapshot.from([
    edsCluster("a"),
    edsCluster("b"),
    endpoints("a", "10.0.0.1:80"),
    endpoints("b", "10.0.0.2:80"),
    httpListener("l", "r"),
    routeTo("r", "b"),
  ]);
  const h = harness({ snapshot: v1 });
  h.request({ typeUrl: CDS });
  h.request({ typeUrl: EDS, resourceNames: ["a", "b"] });
  h.request({ typeUrl: LDS });
  h.request({ typeUrl: RDS, resourceNames: ["r"] });
  for (const r of [...h.sent]) h.ack(r, r.typeUrl === RDS ? ["r"] : r.typeUrl === EDS ? ["a", "b"] : []);
  const before = h.sent.length;
  h.cache.setSnapshot("test/n1", Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80"), httpListener("l", "r"), routeTo("r", "a")]));
  const pushed = h.sent.slice(before);
  assert.deepEqual(
    pushed.map((r) => r.typeUrl),
    [CDS, RDS],
  );
  assert.deepEqual(h.names(pushed[0]), ["a", "b"], "b is kept while the route may still point at it");
  h.ack(pushed[0]);
  assert.equal(h.sent.length, before + 2, "not before the route change is acknowledged");
  h.ack(pushed[1], ["r"]);
  const last = h.sent.at(-1)!;
  assert.equal(h.sent.length, before + 3);
  assert.equal(last.typeUrl, CDS);
  assert.deepEqual(h.names(last), ["a"]);
  assert.equal(last.versionInfo, Snapshot.from([edsCluster("a")]).typeVersion(CDS));
});

test("after a NACK, config that goes back to what the client kept is sent, and its ACK ends the NACK (make before break holds back only what the client holds)", () => {
  const v1 = Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80"), httpListener("l", "r"), routeTo("r", "a")]);
  const h = harness({ snapshot: v1 });
  h.request({ typeUrl: CDS });
  h.request({ typeUrl: EDS, resourceNames: ["a"] });
  h.request({ typeUrl: LDS });
  h.request({ typeUrl: RDS, resourceNames: ["r"] });
  for (const r of [...h.sent]) h.ack(r, r.typeUrl === RDS ? ["r"] : r.typeUrl === EDS ? ["a"] : []);
  const kept = h.sent[0];
  // A cluster the client rejects is added…
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([
      edsCluster("a"),
      edsCluster("bad"),
      endpoints("a", "10.0.0.1:80"),
      endpoints("bad", "10.0.0.9:80"),
      httpListener("l", "r"),
      routeTo("r", "a"),
    ]),
  );
  const rejected = h.sent.at(-1)!;
  assert.deepEqual(h.names(rejected), ["a", "bad"]);
  h.request({
    typeUrl: CDS,
    versionInfo: kept.versionInfo,
    responseNonce: rejected.nonce,
    errorDetail: create(StatusSchema, { code: 13, message: "bad cluster" }),
  });
  // …and taken out again: the client never held it, so nothing waits for the routes before it goes.
  const before = h.sent.length;
  h.cache.setSnapshot("test/n1", v1);
  assert.equal(h.sent.length, before + 1, "the config the client kept is sent");
  const back = h.sent.at(-1)!;
  assert.deepEqual(h.names(back), ["a"]);
  assert.equal(back.versionInfo, kept.versionInfo);
  h.ack(back);
  const cds = h.stream.typeStatus().find((t) => t.typeUrl === CDS)!;
  assert.equal(cds.rejectedVersion, undefined, "the ACK ends the NACK");
  assert.equal(cds.awaitingReply, false);
});

test("a removed cluster disappears from the next full CDS response", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", Snapshot.from([edsCluster("b"), endpoints("b", "10.0.0.2:80")]));
  assert.deepEqual(h.names(h.sent[1]), ["b"]);
});

test("a per-type stream serves requests without type_url and ignores other types", () => {
  const h = harness({ snapshot: twoClusters(), fixedTypeUrl: EDS });
  h.request({ resourceNames: ["a"] });
  assert.equal(h.sent.length, 1);
  assert.equal(h.sent[0].typeUrl, EDS);
  h.request({ typeUrl: CDS });
  assert.equal(h.sent.length, 1);
  assert.match(h.ignored[0], /not served/);
});

test("a request that arrives before any snapshot is answered when one is published", () => {
  const h = harness();
  h.request({ typeUrl: CDS });
  assert.equal(h.sent.length, 0);
  h.cache.setSnapshot("test/n1", twoClusters());
  assert.equal(h.sent.length, 1);
});

test("closing the stream frees its watch", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  assert.equal(h.cache.watchedKeyCount(), 1);
  h.stream.close("test");
  assert.equal(h.cache.watchedKeyCount(), 0);
});

test("a new stream whose version_info is what its subscription covers here is sent nothing until that changes (issue 20)", () => {
  // What the client accepted from another replica (or from this xdsd before it restarted): the same content hashes.
  const before = harness({ snapshot: twoClusters() });
  before.request({ typeUrl: CDS });
  before.request({ typeUrl: EDS, resourceNames: ["a", "b"] });
  const [cds, eds] = before.sent;

  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS, versionInfo: cds.versionInfo });
  h.request({ typeUrl: EDS, versionInfo: eds.versionInfo, resourceNames: ["a", "b"] });
  assert.equal(h.sent.length, 0, "nothing it holds is resent");

  h.cache.setSnapshot("test/n1", twoClusters("10.0.0.9:80"));
  assert.deepEqual(
    h.sent.map((r) => [r.typeUrl, h.names(r)]),
    [[EDS, ["a"]]],
    "a change sends only what changed",
  );

  // A version it does not hold here (other content, or another subscription) is answered as a first request is.
  const other = harness({ snapshot: twoClusters("10.0.0.9:80") });
  other.request({ typeUrl: CDS, versionInfo: "not-this-one" });
  other.request({ typeUrl: EDS, versionInfo: eds.versionInfo, resourceNames: ["a", "b"] });
  assert.deepEqual(
    other.sent.map((r) => [r.typeUrl, other.names(r)]),
    [
      [CDS, ["a", "b"]],
      [EDS, ["a", "b"]],
    ],
  );
});
