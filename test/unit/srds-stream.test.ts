// Scoped routes (SRDS) as Envoy subscribes to them, with no socket: Envoy's ScopedRdsConfigSubscription names no
// scope (it takes every scope of its node), and a state-of-the-world update replaces its whole set of scopes. Before
// the registry said so, an SRDS request naming nothing went unanswered (Envoy waited for its 15 s initial fetch
// timeout), and a later update would have carried only the changed scope, deleting the others at Envoy.
// test/e2e/scoped-routes-srds.test.ts shows both with a real Envoy.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, type Message } from "@bufbuild/protobuf";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { ScopedRouteConfigurationSchema } from "../../src/gen/envoy/config/route/v3/scoped_route_pb.js";
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import type { DeltaResponse } from "../../src/server/protocol/delta-response.js";
import { DeltaStream } from "../../src/server/protocol/delta-stream.js";
import type { SotwResponse } from "../../src/server/protocol/sotw-response.js";
import { SotwStream } from "../../src/server/protocol/sotw-stream.js";
import { node, routeTo } from "../support/resources.js";

const SRDS = TypeUrl.ScopedRouteConfiguration;

function scope(name: string, key: string): Message {
  return create(ScopedRouteConfigurationSchema, { name, routeConfigurationName: "r", key: { fragments: [{ type: { case: "stringKey", value: key } }] } });
}
const snapshot = (...scopes: Message[]) => Snapshot.from([routeTo("r", "c"), ...scopes]);

test("SotW: an SRDS request naming nothing gets every scope; an added scope is sent with all the others", () => {
  const cache = new SnapshotCache();
  cache.setSnapshot("test/n1", snapshot(scope("a", "a"), scope("b", "b")));
  const sent: SotwResponse[] = [];
  const stream = new SotwStream({ source: cache, info: { id: 1, protocol: "sotw", service: "ads", openedAt: 0, peer: "test" }, send: (r) => sent.push(r) });
  stream.handleRequest(create(DiscoveryRequestSchema, { node: node("n1"), typeUrl: SRDS }));
  assert.deepEqual(
    sent.map((r) => r.resources.map((x) => x.name).sort()),
    [["a", "b"]],
  );
  stream.handleRequest(create(DiscoveryRequestSchema, { typeUrl: SRDS, versionInfo: sent[0].versionInfo, responseNonce: sent[0].nonce }));
  cache.setSnapshot("test/n1", snapshot(scope("a", "a"), scope("b", "b"), scope("c", "c")));
  assert.deepEqual(
    sent.map((r) => r.resources.map((x) => x.name).sort()),
    [
      ["a", "b"],
      ["a", "b", "c"],
    ],
  );
});

test("delta: an SRDS request subscribing to nothing is a wildcard: every scope, then the added one", () => {
  const cache = new SnapshotCache();
  cache.setSnapshot("test/n1", snapshot(scope("a", "a"), scope("b", "b")));
  const sent: DeltaResponse[] = [];
  const stream = new DeltaStream({
    source: cache,
    info: { id: 2, protocol: "delta", service: "delta-ads", openedAt: 0, peer: "test" },
    send: (r) => sent.push(r),
  });
  stream.handleRequest(create(DeltaDiscoveryRequestSchema, { node: node("n1"), typeUrl: SRDS }));
  stream.handleRequest(create(DeltaDiscoveryRequestSchema, { typeUrl: SRDS, responseNonce: sent[0]?.nonce }));
  cache.setSnapshot("test/n1", snapshot(scope("a", "a"), scope("b", "b"), scope("c", "c")));
  assert.deepEqual(
    sent.map((r) => r.resources.map((x) => x.name).sort()),
    [["a", "b"], ["c"]],
  );
});
