// The incremental (delta) state machine, rule by rule, with no socket: requests in, responses out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary } from "@bufbuild/protobuf";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import {
  type DeltaDiscoveryRequest,
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import type { Cluster } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { RouteConfigurationSchema } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import type { DeltaResponse } from "../../src/server/protocol/delta-response.js";
import { DeltaStream } from "../../src/server/protocol/delta-stream.js";
import { SotwStream } from "../../src/server/protocol/sotw-stream.js";
import type { SotwResponse } from "../../src/server/protocol/sotw-response.js";
import type { NackInfo, StreamInfo } from "../../src/server/observers/events.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { responseBytes } from "../../src/server/transport/wire-response.js";
import { edsCluster, endpoints, httpListener, node, onDemandCluster, routeTo, twoClusters, virtualHost } from "../support/resources.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;
const VHDS = TypeUrl.VirtualHost;

let streamIds = 0;
function harness(opts: { snapshot?: Snapshot; cache?: SnapshotCache } = {}) {
  const cache = opts.cache ?? new SnapshotCache();
  if (opts.snapshot) cache.setSnapshot("test/n1", opts.snapshot);
  const sent: DeltaResponse[] = [];
  const acks: string[] = [];
  const nacks: NackInfo[] = [];
  const ignored: string[] = [];
  const info: StreamInfo = { id: ++streamIds, protocol: "delta", service: "delta-ads", openedAt: 0, peer: "test" };
  const stream = new DeltaStream({
    source: cache,
    info,
    send: (r) => sent.push(r),
    events: {
      ack: (_s, typeUrl) => acks.push(typeUrl),
      nack: (_s, n) => nacks.push(n),
      ignored: (_s, _r, why) => ignored.push(why),
    },
  });
  let first = true;
  const request = (init: Partial<Omit<DeltaDiscoveryRequest, "$typeName">>) => {
    const req = create(DeltaDiscoveryRequestSchema, { node: first ? node("n1") : undefined, ...init });
    first = false;
    stream.handleRequest(req);
  };
  const ack = (r: DeltaResponse, more: Partial<Omit<DeltaDiscoveryRequest, "$typeName">> = {}) =>
    request({ typeUrl: r.typeUrl, responseNonce: r.nonce, ...more });
  const names = (r: DeltaResponse) => r.resources.map((x) => x.name).sort();
  const last = () => sent[sent.length - 1];
  return { cache, stream, sent, acks, nacks, ignored, request, ack, names, last, info };
}

/** EDS clusters with their endpoints; names starting with "od" are marked on demand. */
const withEndpoints = (...clusters: Cluster[]) => Snapshot.from([...clusters, ...clusters.map((c, i) => endpoints(c.name, `10.0.2.${i + 1}:80`))]);
const clusters = (...names: string[]) => withEndpoints(...names.map((n) => (n.startsWith("od") ? onDemandCluster(n) : edsCluster(n))));

/** A snapshot with the two clusters of twoClusters(), endpoints for both, cluster a's endpoints at `aAddress`. */
const withA = (aAddress: string) => twoClusters(aAddress);

test("a first wildcard CDS request (legacy: both lists empty) gets every cluster with per-resource versions", () => {
  const snapshot = twoClusters();
  const h = harness({ snapshot });
  h.request({ typeUrl: CDS });
  assert.equal(h.sent.length, 1);
  assert.deepEqual(h.names(h.sent[0]), ["a", "b"]);
  assert.deepEqual(h.sent[0].removed, []);
  for (const r of h.sent[0].resources) assert.equal(r.version, snapshot.resources(CDS).get(r.name)!.version, "the version is the content hash");
  assert.equal(h.sent[0].versionInfo, snapshot.typeVersion(CDS), "system_version_info is set");
  const decoded = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[0]));
  assert.equal(decoded.nonce, h.sent[0].nonce);
  assert.deepEqual(decoded.resources.map((r) => [r.name, r.version]).sort(), h.sent[0].resources.map((r) => [r.name, r.version]).sort());
  h.ack(h.sent[0]);
  assert.deepEqual(h.acks, [CDS]);
  assert.equal(h.sent.length, 1, "an ACK with nothing new is not answered");
});

test("each resource's bytes in a delta response are the bytes SotW sends", () => {
  const cache = new SnapshotCache();
  cache.setSnapshot("test/n1", twoClusters());
  const delta = harness({ cache });
  delta.request({ typeUrl: CDS });
  const sotwSent: SotwResponse[] = [];
  const sotw = new SotwStream({ source: cache, info: { id: 999, protocol: "sotw", service: "ads", openedAt: 0, peer: "t" }, send: (r) => sotwSent.push(r) });
  sotw.handleRequest(create(DiscoveryRequestSchema, { node: node("n1"), typeUrl: CDS }));
  const fromDelta = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(delta.sent[0])).resources.map((r) => [
    r.name,
    Buffer.from(r.resource!.value).toString("hex"),
  ]);
  const fromSotw = sotwSent[0].resources.map((r) => [r.name, Buffer.from(r.any.value).toString("hex")]);
  assert.deepEqual(fromDelta.sort(), fromSotw.sort());
  assert.equal(delta.sent[0].resources[0].any, sotwSent[0].resources.find((r) => r.name === delta.sent[0].resources[0].name)!.any, "the same Any object");
});

test("a change sends only the changed resource; a removal goes in removed_resources", () => {
  const h = harness({ snapshot: withA("10.0.0.1:80") });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"] });
  assert.deepEqual(h.names(h.sent[0]), ["a", "b"]);
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", withA("10.0.0.9:80"));
  assert.equal(h.sent.length, 2);
  assert.deepEqual(h.names(h.sent[1]), ["a"], "only the changed assignment");
  h.ack(h.sent[1]);
  h.cache.setSnapshot("test/n1", Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.9:80")]));
  assert.equal(h.sent.length, 3);
  assert.deepEqual([h.names(h.sent[2]), h.sent[2].removed], [[], ["b"]]);
});

test("subscribed names the server does not have are told removed, once", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a", "ghost"] });
  assert.deepEqual([h.names(h.sent[0]), h.sent[0].removed], [["a"], ["ghost"]]);
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", withA("10.0.0.7:80"));
  assert.deepEqual([h.names(h.sent[1]), h.sent[1].removed], [["a"], []], "ghost is not repeated");
  h.ack(h.sent[1]);
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([...twoClusters("10.0.0.7:80").resources(CDS).values(), ...withA("10.0.0.7:80").resources(EDS).values(), endpoints("ghost", "10.1.1.1:1")]),
  );
  assert.deepEqual(h.names(h.sent[2]), ["ghost"], "and sent once it exists");
});

test("subscribe and unsubscribe: a new name is sent, an unsubscribed one is no longer pushed", () => {
  const h = harness({ snapshot: withA("10.0.0.1:80") });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  h.ack(h.sent[0]);
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["b"] });
  assert.deepEqual(h.names(h.sent[1]), ["b"], "only the new name");
  h.ack(h.sent[1], { resourceNamesUnsubscribe: ["a"] });
  assert.equal(h.sent.length, 2, "unsubscribing needs no answer");
  h.cache.setSnapshot("test/n1", withA("10.0.0.2:80"));
  assert.equal(h.sent.length, 2, "a is no longer pushed");
  assert.deepEqual(h.stream.typeStatus()[0].names, ["b"]);
});

test("a name subscribed again is sent again even though the client was sent it", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  h.ack(h.sent[0]);
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  assert.equal(h.sent.length, 2);
  assert.deepEqual(h.names(h.sent[1]), ["a"]);
});

test("wildcard transitions: * → named → *; unsubscribing a name the wildcard covers resends it", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS, resourceNamesSubscribe: ["*"] });
  assert.deepEqual(h.names(h.sent[0]), ["a", "b"]);
  h.ack(h.sent[0], { resourceNamesSubscribe: ["a"] });
  assert.deepEqual(h.names(h.sent[1]), ["a"], "named explicitly: sent even though held");
  h.ack(h.sent[1], { resourceNamesUnsubscribe: ["a"] });
  assert.deepEqual(h.names(h.sent[2]), ["a"], "still under the wildcard: sent again");
  h.ack(h.sent[2], { resourceNamesUnsubscribe: ["*"], resourceNamesSubscribe: ["b"] });
  assert.equal(h.stream.typeStatus()[0].wildcard, false);
  assert.deepEqual(h.names(h.sent[3]), ["b"]);
  h.ack(h.sent[3]);
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([edsCluster("a"), edsCluster("b"), edsCluster("c"), ...twoClusters().resources(EDS).values(), endpoints("c", "10.0.0.3:80")]),
  );
  assert.equal(h.sent.length, 4, "a new cluster is not sent to a stream no longer on the wildcard");
  h.request({ typeUrl: CDS, resourceNamesSubscribe: ["*"] });
  assert.deepEqual(h.names(h.sent[4]), ["a", "c"], "back on the wildcard: what it does not hold");
});

test("legacy wildcard: a first request with both lists empty is the wildcard, and stays it when a name is subscribed", () => {
  // xDS spec, incremental example: subscribing "A" after the legacy wildcard is "continuing the existing
  // subscription to * and adding a new subscription to A". Envoy's on-demand CDS does exactly this on its CDS stream.
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: CDS });
  assert.equal(h.stream.typeStatus()[0].wildcard, true);
  h.ack(h.sent[0], { resourceNamesSubscribe: ["a"] });
  assert.deepEqual([h.stream.typeStatus()[0].wildcard, h.stream.typeStatus()[0].names], [true, ["a"]]);
  h.ack(h.sent[1]);
  h.cache.setSnapshot("test/n1", clusters("a", "b", "c"));
  assert.deepEqual(h.names(h.sent[2]), ["c"], "a new cluster still reaches it");
  h.ack(h.sent[2], { resourceNamesUnsubscribe: ["*"] });
  assert.deepEqual([h.stream.typeStatus()[0].wildcard, h.stream.typeStatus()[0].names], [false, ["a"]], "only unsubscribing * ends it");
  const e = harness({ snapshot: twoClusters() });
  e.request({ typeUrl: EDS });
  assert.equal(e.stream.typeStatus()[0].wildcard, false, "EDS has no legacy wildcard");
  assert.deepEqual([e.sent.length, e.sent[0].resources.length, e.sent[0].removed.length], [1, 0, 0], "but a first request is answered, empty");
});

test("a phantom unsubscribe is ignored", () => {
  const h = harness({ snapshot: twoClusters() });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  h.ack(h.sent[0], { resourceNamesUnsubscribe: ["never-subscribed"] });
  assert.equal(h.sent.length, 1);
  assert.deepEqual(h.stream.typeStatus()[0].names, ["a"]);
});

test("reconnect with initial_resource_versions: unchanged is not sent, changed is, gone is removed", () => {
  const before = twoClusters();
  const h1 = harness({ snapshot: before });
  h1.request({ typeUrl: CDS });
  const held = Object.fromEntries(h1.sent[0].resources.map((r) => [r.name, r.version]));
  // Nothing changed: a wildcard reconnect that holds everything gets nothing.
  const same = harness({ snapshot: before });
  same.request({ typeUrl: CDS, initialResourceVersions: held });
  assert.equal(same.sent.length, 0);
  // Cluster a changed, b is gone, c is new.
  const changedA = edsCluster("a");
  changedA.connectTimeout = { $typeName: "google.protobuf.Duration", seconds: 9n, nanos: 0 };
  const after = Snapshot.from([changedA, edsCluster("c"), endpoints("a", "10.0.0.1:80"), endpoints("c", "10.0.0.3:80")]);
  const h2 = harness({ snapshot: after });
  h2.request({ typeUrl: CDS, initialResourceVersions: held });
  assert.deepEqual([h2.names(h2.sent[0]), h2.sent[0].removed], [["a", "c"], ["b"]]);
  // Named (EDS) reconnect: the subscribed names come with the versions held.
  const eds = Object.fromEntries([...before.resources(EDS).values()].map((r) => [r.name, r.version]));
  const h3 = harness({ snapshot: before });
  h3.request({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"], initialResourceVersions: eds });
  assert.equal(h3.sent.length, 0, "held at the current versions: nothing to send");
});

test("ACK and NACK by error_detail; the NACKed content is not resent, the next different content is", () => {
  const h = harness({ snapshot: withA("10.0.0.1:80") });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", withA("10.0.0.2:80"));
  h.ack(h.sent[1], { errorDetail: create(StatusSchema, { code: 13, message: "bad endpoint" }) });
  assert.equal(h.nacks.length, 1);
  assert.equal(h.nacks[0].message, "bad endpoint");
  assert.equal(h.nacks[0].rejectedVersion, h.sent[1].versionInfo);
  assert.equal(h.sent.length, 2, "not resent");
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([...withA("10.0.0.2:80").resources(CDS).values(), endpoints("a", "10.0.0.2:80"), endpoints("b", "10.0.0.5:80")]),
  );
  assert.equal(h.sent.length, 2, "an unrelated change does not resend the rejected one");
  h.cache.setSnapshot("test/n1", withA("10.0.0.3:80"));
  assert.deepEqual(h.names(h.sent[2]), ["a"], "the next different content is sent");
});

test("a NACK says the client keeps what it ACKed last, as a state-of-the-world NACK does (/nodes: one consistent record)", () => {
  // Issue 18 item 20: a delta request carries no version, and the NACK was recorded with an empty kept version
  // beside the version the node had ACKed.
  const h = harness({ snapshot: withA("10.0.0.1:80") });
  const status = new NodeStatuses({ clients: () => [{ info: h.info, types: () => h.stream.clientTypes() }] });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", withA("10.0.0.2:80"));
  h.ack(h.sent[1], { errorDetail: create(StatusSchema, { code: 13, message: "bad endpoint" }) });
  assert.equal(h.nacks[0].versionInfo, h.sent[0].versionInfo, "kept: the version ACKed last");
  const eds = status.get("test/n1")!.types.eds;
  assert.equal(eds.lastNack?.keptVersion, eds.ackedVersion);
  assert.equal(eds.lastNack?.rejectedVersion, h.sent[1].versionInfo);
});

test("a stale nonce is not taken for an ACK, but its subscription changes apply", () => {
  const h = harness({ snapshot: withA("10.0.0.1:80") });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
  const firstNonce = h.sent[0].nonce;
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", withA("10.0.0.2:80"));
  assert.equal(h.sent.length, 2);
  h.request({ typeUrl: EDS, responseNonce: firstNonce, resourceNamesSubscribe: ["b"] });
  assert.match(h.ignored[0], /stale nonce/);
  assert.deepEqual(h.stream.typeStatus()[0].names, ["a", "b"], "the subscription changed");
  assert.equal(h.sent.length, 2, "one response in flight: b waits for the ACK of the latest");
  h.ack(h.sent[1]);
  assert.deepEqual(h.names(h.sent[2]), ["b"]);
});

test("one response per type in flight; changes meanwhile coalesce into the latest", () => {
  const h = harness({ snapshot: withA("10.0.0.1:80") });
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"] });
  h.cache.setSnapshot("test/n1", withA("10.0.0.2:80"));
  h.cache.setSnapshot("test/n1", withA("10.0.0.3:80"));
  assert.equal(h.sent.length, 1, "nothing while the first awaits its ACK");
  h.ack(h.sent[0]);
  assert.equal(h.sent.length, 2);
  assert.deepEqual(h.names(h.sent[1]), ["a"]);
  assert.equal(h.sent[1].resources[0].version, withA("10.0.0.3:80").resources(EDS).get("a")!.version, "the latest");
});

test("ADS: CDS before EDS before LDS before RDS; a cluster removal waits until the routes using it are acknowledged", () => {
  const routesTo = (cluster: string) =>
    Snapshot.from([
      edsCluster("a"),
      edsCluster("b"),
      endpoints("a", "10.0.0.1:80"),
      endpoints("b", "10.0.0.2:80"),
      httpListener("l", "r"),
      routeTo("r", cluster),
    ]);
  const h = harness({ snapshot: routesTo("b") });
  h.request({ typeUrl: CDS });
  h.ack(h.sent[0]);
  h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"] });
  h.ack(h.last());
  h.request({ typeUrl: LDS });
  h.ack(h.last());
  h.request({ typeUrl: RDS, resourceNamesSubscribe: ["r"] });
  h.ack(h.last());
  const before = h.sent.length;
  // One edit: the route moves to a, and cluster b (with its endpoints) goes.
  h.cache.setSnapshot("test/n1", Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80"), httpListener("l", "r"), routeTo("r", "a")]));
  const pushed = h.sent.slice(before);
  assert.deepEqual(
    pushed.map((r) => [r.typeUrl, h.names(r), [...r.removed]]),
    [
      [EDS, [], ["b"]],
      [RDS, ["r"], []],
    ],
    "the route change goes out; the cluster's removal is held",
  );
  h.ack(pushed[0]);
  assert.equal(h.sent.length, before + 2, "still held: the route is not acknowledged yet");
  h.ack(pushed[1]);
  assert.deepEqual([h.last().typeUrl, [...h.last().removed]], [CDS, ["b"]], "removed once the route is acknowledged");
});

test("the body of the same change is shared by every stream that needs it", () => {
  const cache = new SnapshotCache();
  cache.setSnapshot("test/n1", withA("10.0.0.1:80"));
  const h1 = harness({ cache });
  const h2 = harness({ cache });
  for (const h of [h1, h2]) {
    h.request({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"] });
    h.ack(h.sent[0]);
  }
  cache.setSnapshot("test/n1", withA("10.0.0.4:80"));
  assert.equal(h1.sent[1].body, h2.sent[1].body, "one body object");
  assert.notEqual(h1.sent[1].nonce, h2.sent[1].nonce);
});

test("a first wildcard request with nothing to send is answered (Envoy waits for it to initialize)", () => {
  const h = harness({ snapshot: Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]) });
  h.request({ typeUrl: LDS });
  assert.equal(h.sent.length, 1);
  assert.deepEqual([h.sent[0].resources.length, h.sent[0].removed.length], [0, 0]);
});

test("VHDS: Envoy's first request subscribes to nothing; each route configuration with vhds it holds gets its namespace opened, once", () => {
  const rc = (name: string) => create(RouteConfigurationSchema, { name, vhds: { configSource: { configSourceSpecifier: { case: "ads", value: {} } } } });
  const vhost = virtualHost("rc/x", ["x.local"]);
  const h = harness({
    snapshot: Snapshot.from([rc("rc"), routeTo("plain", "a"), vhost, ...twoClusters().resources(CDS).values(), ...twoClusters().resources(EDS).values()]),
  });
  h.request({ typeUrl: RDS, resourceNamesSubscribe: ["rc", "plain"] });
  h.ack(h.sent[0]);
  h.request({ typeUrl: VHDS });
  assert.deepEqual([h.sent[1].resources, h.sent[1].removed], [[], ["rc/"]], "a no-op removal inside namespace rc: Envoy's watch for it initializes");
  h.ack(h.sent[1]);
  assert.equal(h.sent.length, 2);
  // A route configuration with vhds added later: its namespace is opened right after the RDS response, unasked.
  h.cache.setSnapshot(
    "test/n1",
    Snapshot.from([rc("rc"), rc("rc2"), routeTo("plain", "a"), vhost, ...twoClusters().resources(CDS).values(), ...twoClusters().resources(EDS).values()]),
  );
  h.request({ typeUrl: RDS, resourceNamesSubscribe: ["rc2"] });
  assert.deepEqual([h.sent[2].typeUrl, h.names(h.sent[2])], [RDS, ["rc2"]]);
  assert.deepEqual([h.sent[3].typeUrl, h.sent[3].removed], [VHDS, ["rc2/"]]);
  // Without any route configuration, the first request is answered empty.
  const e = harness({ snapshot: Snapshot.from([vhost]) });
  e.request({ typeUrl: VHDS });
  assert.deepEqual([e.sent.length, e.sent[0].resources.length, e.sent[0].removed.length], [1, 0, 0]);
});

test("on demand: a marked cluster is not part of the wildcard, is sent when named, and kept up to date there", () => {
  const h = harness({ snapshot: clusters("a", "od") });
  h.request({ typeUrl: CDS });
  assert.deepEqual(h.names(h.sent[0]), ["a"], "the wildcard leaves it out");
  h.ack(h.sent[0]);
  // What Envoy's on-demand CDS sends: the name, no nonce, on the stream that began as the legacy wildcard.
  h.request({ typeUrl: CDS, resourceNamesSubscribe: ["od"] });
  assert.deepEqual([h.names(h.sent[1]), h.sent[1].removed], [["od"], []]);
  h.ack(h.sent[1]);
  const changed = onDemandCluster("od");
  changed.connectTimeout = { $typeName: "google.protobuf.Duration", seconds: 7n, nanos: 0 };
  h.cache.setSnapshot("test/n1", withEndpoints(edsCluster("a"), changed, edsCluster("b"), onDemandCluster("od2")));
  assert.deepEqual(h.names(h.sent[2]), ["b", "od"], "a change of the named one and a new wildcard one; not the other on-demand one");
  // Another stream on the wildcard that never named it: still never sent.
  const other = harness({ cache: h.cache });
  other.request({ typeUrl: CDS });
  assert.deepEqual(other.names(other.sent[0]), ["a", "b"]);
});

test("on demand: a held cluster that only the wildcard covered is told removed once it is marked, or unsubscribed", () => {
  const h = harness({ snapshot: clusters("a", "b") });
  h.request({ typeUrl: CDS });
  h.ack(h.sent[0]);
  h.cache.setSnapshot("test/n1", withEndpoints(edsCluster("a"), onDemandCluster("b")));
  assert.deepEqual([h.names(h.sent[1]), h.sent[1].removed], [[], ["b"]], "b is no longer the wildcard's: Envoy drops it");
  h.ack(h.sent[1], { resourceNamesSubscribe: ["b"] });
  assert.deepEqual(h.names(h.sent[2]), ["b"]);
  h.ack(h.sent[2], { resourceNamesUnsubscribe: ["b"] });
  assert.deepEqual([h.names(h.sent[3]), h.sent[3].removed], [[], ["b"]], "unsubscribed, and the wildcard does not cover it (checklist F.29)");
});

test("VHDS aliases: a name that is a VirtualHost's is sent as it is; `rc/<host>` gets the virtual host Envoy would pick, with the alias", () => {
  const snapshot = Snapshot.from([
    virtualHost("rc/exact", ["exact.local"]),
    virtualHost("rc/api", ["api.example.com", "api.example.org"]),
    virtualHost("rc/wild", ["*.example.com"]),
    virtualHost("rc/longer", ["*.b.example.com"]),
    virtualHost("rc/prefix", ["www.*"]),
    virtualHost("rc/any", ["*"]),
    virtualHost("other/api", ["api.example.net"]),
  ]);
  const pick = (requested: string) => {
    const h = harness({ snapshot });
    h.request({ typeUrl: VHDS });
    h.ack(h.sent[0], { resourceNamesSubscribe: [requested] });
    const r = h.sent[1];
    return { names: h.names(r), aliases: Object.fromEntries(r.aliases ?? []), unresolved: r.unresolved ?? [] };
  };
  assert.deepEqual(pick("rc/exact"), { names: ["rc/exact"], aliases: {}, unresolved: [] }, "its own name: no alias");
  assert.deepEqual(pick("rc/API.example.org"), { names: ["rc/api"], aliases: { "rc/api": ["rc/API.example.org"] }, unresolved: [] }, "exact domain, any case");
  assert.deepEqual(pick("rc/a.b.example.com").names, ["rc/longer"], "the longest suffix");
  assert.deepEqual(pick("rc/x.example.com").names, ["rc/wild"]);
  assert.deepEqual(pick("rc/www.elsewhere").names, ["rc/prefix"], "a prefix after the suffixes");
  assert.deepEqual(pick("rc/example.com").names, ["rc/any"], "*.example.com needs something before the suffix; * takes the rest");
  const none = Snapshot.from([virtualHost("rc/api", ["api.example.com"]), virtualHost("other/x", ["*"])]);
  const h = harness({ snapshot: none });
  h.request({ typeUrl: VHDS });
  h.ack(h.sent[0], { resourceNamesSubscribe: ["rc/nope.local"] });
  assert.deepEqual([h.sent[1].resources, h.sent[1].removed, h.sent[1].unresolved], [[], [], ["rc/nope.local"]], "only rc's virtual hosts are candidates");
  const wire = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[1]));
  assert.deepEqual(
    wire.resources.map((r) => [r.name, r.aliases, r.resource === undefined]),
    [["rc/nope.local", ["rc/nope.local"], true]],
    "on the wire: a Resource named by the alias, with it as alias, and no resource",
  );
  h.ack(h.sent[1]);
  assert.equal(h.sent.length, 2, "told once");
  h.request({ typeUrl: VHDS, resourceNamesSubscribe: ["rc/nope.local"] });
  assert.deepEqual(h.sent[2].unresolved, ["rc/nope.local"], "asked again (another request for that host): told again");
});

test("VHDS aliases: the resolved virtual host is kept up to date, re-resolved when domains change, and removed when nothing asks for it", () => {
  const h = harness({ snapshot: Snapshot.from([virtualHost("rc/api", ["api.local"], "a")]) });
  h.request({ typeUrl: VHDS });
  h.ack(h.sent[0], { resourceNamesSubscribe: ["rc/api.local", "rc/other.local"] });
  assert.deepEqual(
    [h.names(h.sent[1]), Object.fromEntries(h.sent[1].aliases!), h.sent[1].unresolved],
    [["rc/api"], { "rc/api": ["rc/api.local"] }, ["rc/other.local"]],
  );
  const wire = fromBinary(DeltaDiscoveryResponseSchema, responseBytes(h.sent[1]));
  assert.deepEqual(wire.resources.map((r) => [r.name, r.aliases]).sort(), [
    ["rc/api", ["rc/api.local"]],
    ["rc/other.local", ["rc/other.local"]],
  ]);
  h.ack(h.sent[1]);
  h.cache.setSnapshot("test/n1", Snapshot.from([virtualHost("rc/api", ["api.local"], "b")]));
  assert.deepEqual([h.names(h.sent[2]), h.sent[2].aliases, h.sent[2].unresolved], [["rc/api"], undefined, undefined], "a change: sent, the alias already told");
  h.ack(h.sent[2]);
  h.cache.setSnapshot("test/n1", Snapshot.from([virtualHost("rc/api", ["api.local"], "b"), virtualHost("rc/other", ["other.local"])]));
  assert.deepEqual([h.names(h.sent[3]), Object.fromEntries(h.sent[3].aliases!)], [["rc/other"], { "rc/other": ["rc/other.local"] }], "now resolves");
  h.ack(h.sent[3]);
  h.cache.setSnapshot("test/n1", Snapshot.from([virtualHost("rc/api", ["api2.local"], "b"), virtualHost("rc/other", ["other.local"])]));
  assert.deepEqual(
    [h.names(h.sent[4]), h.sent[4].removed, h.sent[4].unresolved],
    [[], ["rc/api"], ["rc/api.local"]],
    "no longer matches: dropped, and told so",
  );
});

test("one changed endpoint in a 10,000-endpoint, 500-cluster config sends one resource to each subscribed stream", () => {
  const names = Array.from({ length: 500 }, (_, i) => `c${i}`);
  const assignment = (name: string, first: number) =>
    endpoints(name, ...Array.from({ length: 20 }, (_, k) => `10.${Math.floor((first + k) / 250) % 250}.${(first + k) % 250}.1:80`));
  const build = (changed?: string) =>
    Snapshot.from([...names.map((n) => edsCluster(n)), ...names.map((n, i) => assignment(n, n === changed ? 100_000 + i * 20 : i * 20))]);
  const before = build();
  const cache = new SnapshotCache();
  cache.setSnapshot("test/n1", before);
  const streams = Array.from({ length: 3 }, () => harness({ cache }));
  for (const h of streams) {
    h.request({ typeUrl: CDS });
    h.ack(h.last());
    h.request({ typeUrl: EDS, resourceNamesSubscribe: names });
    assert.equal(h.last().resources.length, 500);
    h.ack(h.last());
  }
  cache.setSnapshot("test/n1", build("c123"));
  for (const h of streams) {
    const change = h.last();
    assert.deepEqual([change.typeUrl, h.names(change), change.removed], [EDS, ["c123"], []]);
    assert.ok(change.body.byteLength < 1024, `${change.body.byteLength} bytes for one assignment of 20 endpoints`);
  }
  assert.equal(streams[0].last().body, streams[2].last().body, "one body, shared");
});
