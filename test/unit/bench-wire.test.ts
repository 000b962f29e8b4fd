// The load generator's wire shortcuts against protobuf-es: what the skimmers read out of responses and requests
// encoded by the generated types, and what the two dialects' requests decode to. The field numbers the skimmers
// hard-code are checked here, once, against the schema.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { generateFixture } from "../../bench/harness/fixtures.js";
import { dialectFor, type TypeExchange } from "../../bench/harness/loadgen/dialect.js";
import { FixtureIndex } from "../../bench/harness/loadgen/fixture-index.js";
import { rangeStride, skimDeltaDiscoveryResponse, skimDiscoveryRequest, skimDiscoveryResponse, skimResources } from "../../bench/harness/lib/wire.js";
import {
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
} from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";

const fixture = generateFixture("T", { clusters: 3, endpointsPerCluster: 2, listeners: 0, steps: 1, change: "endpoint" });
const clas = fixture.steps[0].upserts.filter((u) => u.typeUrl === TypeUrl.ClusterLoadAssignment);
const text = (buf: Buffer, start: number, end: number) => buf.toString("latin1", start, end);

test("a delta response: type, nonce, version, each Resource's Any and both names, removed names", () => {
  const body = Buffer.from(
    toBinary(
      DeltaDiscoveryResponseSchema,
      create(DeltaDiscoveryResponseSchema, {
        systemVersionInfo: "v7",
        typeUrl: TypeUrl.ClusterLoadAssignment,
        nonce: "n-1",
        resources: clas.slice(0, 2).map((u) => ({
          name: u.name,
          version: "h",
          resource: create(AnySchema, { typeUrl: u.typeUrl, value: u.value }),
        })),
        removedResources: ["gone-1", "gone-2"],
        controlPlane: { identifier: "cp" },
      }),
    ),
  );
  const r = skimDeltaDiscoveryResponse(body);
  assert.equal(r.delta, true);
  assert.equal(r.typeUrl, TypeUrl.ClusterLoadAssignment);
  assert.equal(r.nonce, "n-1");
  assert.equal(r.versionInfo, "v7");
  assert.equal(r.count, 2);
  assert.equal(r.contiguous, true);
  assert.deepEqual(
    Array.from({ length: r.removedCount }, (_, k) => text(body, r.removedRanges[k * 2], r.removedRanges[k * 2 + 1])),
    ["gone-1", "gone-2"],
  );
  skimResources(body, r);
  for (let k = 0; k < 2; k++) {
    const o = k * rangeStride;
    assert.equal(text(body, r.ranges[o], r.ranges[o + 1]), TypeUrl.ClusterLoadAssignment);
    assert.ok(body.subarray(r.ranges[o + 2], r.ranges[o + 3]).equals(clas[k].value));
    assert.equal(text(body, r.ranges[o + 4], r.ranges[o + 5]), clas[k].name);
    assert.equal(text(body, r.ranges[o + 6], r.ranges[o + 7]), clas[k].name);
  }
});

test("a SotW response: the same ranges, no wrapper name, and field 6 (control_plane) is not a removed name", () => {
  const body = Buffer.from(
    toBinary(
      DiscoveryResponseSchema,
      create(DiscoveryResponseSchema, {
        versionInfo: "3",
        typeUrl: TypeUrl.ClusterLoadAssignment,
        nonce: "x",
        resources: clas.map((u) => create(AnySchema, { typeUrl: u.typeUrl, value: u.value })),
        controlPlane: { identifier: "cp" },
      }),
    ),
  );
  const r = skimDiscoveryResponse(body);
  assert.equal(r.delta, false);
  assert.equal(r.count, clas.length);
  assert.equal(r.removedCount, 0);
  skimResources(body, r);
  const o = 2 * rangeStride;
  assert.equal(text(body, r.ranges[o + 4], r.ranges[o + 5]), clas[2].name);
  assert.ok(body.subarray(r.ranges[o + 2], r.ranges[o + 3]).equals(clas[2].value));
  assert.equal(r.ranges[o + 6], -1);
});

test("the floor's request skim reads type and NACK from both request kinds", () => {
  const nack = { code: 3, message: "bad" };
  const sotw = toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, resourceNames: ["a"], errorDetail: nack }));
  assert.deepEqual(skimDiscoveryRequest(sotw), { typeUrl: TypeUrl.Cluster, nack: true });
  const delta = toBinary(
    DeltaDiscoveryRequestSchema,
    create(DeltaDiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: ["a"], responseNonce: "n" }),
  );
  assert.deepEqual(skimDiscoveryRequest(delta, true), { typeUrl: TypeUrl.Cluster, nack: false });
  const deltaNack = toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { typeUrl: TypeUrl.Cluster, errorDetail: nack }));
  assert.deepEqual(skimDiscoveryRequest(deltaNack, true), { typeUrl: TypeUrl.Cluster, nack: true });
});

const join = (parts: Uint8Array[]) => Buffer.concat(parts);
const exchange = (): TypeExchange => ({ version: "", nonce: "", tail: Buffer.alloc(0) });

test("delta dialect: wildcard first request with the node, name changes, ACK by nonce only", () => {
  const index = new FixtureIndex(fixture);
  const delta = dialectFor("delta", index);
  const cds = index.type(TypeUrl.Cluster);
  const eds = index.type(TypeUrl.ClusterLoadAssignment);
  const first = fromBinary(DeltaDiscoveryRequestSchema, join(delta.subscribe(cds, exchange(), undefined, 4)));
  assert.equal(first.typeUrl, TypeUrl.Cluster);
  assert.equal(first.node?.id, "bench-4");
  assert.deepEqual(first.resourceNamesSubscribe, []);
  const names = eds.nameIds;
  const change = fromBinary(
    DeltaDiscoveryRequestSchema,
    join(delta.subscribe(eds, exchange(), { names: names.slice(0, 2), added: [names[1]], removed: [names[2]] }, undefined)),
  );
  assert.equal(change.node, undefined);
  assert.deepEqual(change.resourceNamesSubscribe, [index.nameText[names[1]]]);
  assert.deepEqual(change.resourceNamesUnsubscribe, [index.nameText[names[2]]]);
  assert.equal(change.responseNonce, "");
  const response = skimDeltaDiscoveryResponse(
    Buffer.from(toBinary(DeltaDiscoveryResponseSchema, create(DeltaDiscoveryResponseSchema, { typeUrl: TypeUrl.Cluster, nonce: "abc" }))),
  );
  const ack = fromBinary(DeltaDiscoveryRequestSchema, join(delta.ack(cds, exchange(), response)));
  assert.equal(ack.typeUrl, TypeUrl.Cluster);
  assert.equal(ack.responseNonce, "abc");
  assert.deepEqual(ack.resourceNamesSubscribe, []);
});

test("SotW dialect: every request carries the whole subscription, the ACK the version and nonce", () => {
  const index = new FixtureIndex(fixture);
  const sotw = dialectFor("sotw", index);
  const eds = index.type(TypeUrl.ClusterLoadAssignment);
  const ex = exchange();
  const names = eds.nameIds;
  const sub = fromBinary(DiscoveryRequestSchema, join(sotw.subscribe(eds, ex, { names, added: names, removed: [] }, 0)));
  assert.deepEqual(
    sub.resourceNames,
    names.map((n) => index.nameText[n]),
  );
  assert.equal(sub.node?.id, "bench-0");
  const response = skimDiscoveryResponse(
    Buffer.from(toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, { typeUrl: eds.typeUrl, versionInfo: "9", nonce: "q" }))),
  );
  const ack = fromBinary(DiscoveryRequestSchema, join(sotw.ack(eds, ex, response)));
  assert.equal(ack.versionInfo, "9");
  assert.equal(ack.responseNonce, "q");
  assert.deepEqual(ack.resourceNames, sub.resourceNames);
  assert.equal(ack.typeUrl, eds.typeUrl);
});
