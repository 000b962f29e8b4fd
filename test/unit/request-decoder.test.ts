// The request decoder's shortcut gives exactly what the full decoder gives, and reuses what it decoded before,
// within a stream and across streams.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, equals, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, ResourceLocatorSchema, type DiscoveryRequest } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { RequestDecoder } from "../../src/server/decoding/request-decoder.js";
import { SharedNameLists } from "../../src/server/decoding/shared-name-lists.js";
import { Subscription } from "../../src/server/subscription.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { node } from "../support/resources.js";

type Init = Partial<Omit<DiscoveryRequest, "$typeName">>;
const bytes = (init: Init) => toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init));
const names = Array.from({ length: 50 }, (_, i) => `cluster-${i}`);

test("decodes every shape of request exactly as fromBinary does", () => {
  const cases: Init[] = [
    {},
    { node: node("n1", "c1", "envoy"), typeUrl: TypeUrl.Cluster },
    { typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names, versionInfo: "v1", responseNonce: "1-2" },
    { typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["é-ü-名前"], errorDetail: create(StatusSchema, { code: 13, message: "bad" }) },
    { typeUrl: TypeUrl.Listener, resourceLocators: [create(ResourceLocatorSchema, { name: "xdstp://a/b" })] },
  ];
  const decoder = new RequestDecoder();
  for (const init of cases) {
    const expected = create(DiscoveryRequestSchema, init);
    assert.ok(equals(DiscoveryRequestSchema, decoder.decode(bytes(init)), expected), JSON.stringify(init));
  }
  // Fields out of their usual order, names split by another field: still the same result.
  const a = bytes({ resourceNames: ["a"] });
  const t = bytes({ typeUrl: TypeUrl.ClusterLoadAssignment });
  const b = bytes({ resourceNames: ["b"] });
  const odd = new Uint8Array([...a, ...t, ...b]);
  const got = new RequestDecoder().decode(odd);
  assert.deepEqual([got.typeUrl, got.resourceNames], [TypeUrl.ClusterLoadAssignment, ["a", "b"]]);
  assert.throws(() => new RequestDecoder().decode(new Uint8Array([0x0a, 0x05, 0x61])), "a truncated request fails as fromBinary fails");
});

test("an ACK repeating the previous subscription and node reuses the objects decoded before", () => {
  const decoder = new RequestDecoder();
  const first = decoder.decode(bytes({ node: node("n1"), typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names }));
  const ack = decoder.decode(bytes({ node: node("n1"), typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names, responseNonce: "x-1", versionInfo: "v" }));
  assert.deepEqual(ack.resourceNames, names);
  assert.equal(ack.node, first.node, "same node object");
  assert.equal(ack.responseNonce, "x-1");
  const changed = decoder.decode(bytes({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [...names, "new"] }));
  assert.equal(changed.resourceNames.length, 51);
  const other = decoder.decode(bytes({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: names }));
  assert.deepEqual(other.resourceNames, names, "names are remembered per type URL");
});

test("streams that send the same subscription share one decoded list, and the subscriptions built from it share their set and key", () => {
  const lists = new SharedNameLists();
  const a = new RequestDecoder(lists).decode(bytes({ node: node("a"), typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names }));
  const b = new RequestDecoder(lists).decode(bytes({ node: node("b"), typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names }));
  assert.equal(a.resourceNames, b.resourceNames, "one array for both streams");
  assert.ok(Object.isFrozen(a.resourceNames), "a shared list cannot be changed by one stream");
  assert.equal(lists.size, 1);
  const sa = new Subscription(false);
  const sb = new Subscription(false);
  sa.update(a.resourceNames);
  sb.update(b.resourceNames);
  assert.equal(sa.names, sb.names, "one set");
  assert.equal(sa.key(), sb.key(), "one key string");
  // One stream changing its subscription leaves the other's untouched.
  sa.update(["cluster-1"]);
  assert.deepEqual([...sa.names], ["cluster-1"]);
  assert.equal(sb.names.size, 50);
});

test("the shared table is bounded in entries and bytes, oldest first; evicted lists stay valid", () => {
  const lists = new SharedNameLists({ maxEntries: 2 });
  const run = (n: string) => bytes({ resourceNames: [n] }); // a request of only names is one run of names
  const first = lists.get(run("x")).names;
  lists.get(run("y"));
  lists.get(run("z"));
  assert.equal(lists.size, 2);
  assert.deepEqual(first, ["x"]);
  assert.notEqual(lists.get(run("x")).names, first, "x was evicted, so it is decoded again");
  const small = new SharedNameLists({ maxBytes: 15 });
  small.get(run("a".repeat(8)));
  small.get(run("b".repeat(8)));
  assert.equal(small.size, 1, "two 10-byte runs do not fit in 15 bytes: the older one goes");
});
