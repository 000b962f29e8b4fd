// Properties of the request decoder (fast-check): for any bytes — valid requests, mutated ones, noise — it gives
// exactly what protobuf-es's fromBinary gives, or fails exactly when fromBinary fails, and never with anything but
// an Error. The transport answers such a failure with INVALID_ARGUMENT.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { RequestDecoder } from "../../src/server/decoding/request-decoder.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { node } from "../support/resources.js";

const seed = 20261201;

const validRequest = fc
  .record({
    typeUrl: fc.constantFrom(TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, "", "type.googleapis.com/x"),
    versionInfo: fc.string({ maxLength: 12 }),
    responseNonce: fc.string({ maxLength: 12 }),
    resourceNames: fc.array(fc.string({ maxLength: 20 }), { maxLength: 10 }),
    withNode: fc.boolean(),
  })
  .map(({ withNode, ...r }) => toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { ...r, node: withNode ? node("fuzz") : undefined })));

/** A valid request with some bytes overwritten, some cut off or some appended. */
const mutatedRequest = fc
  .tuple(validRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.uint8Array({ maxLength: 8 }))
  .map(([bytes, edits, cut, tail]) => {
    const out = Buffer.from(bytes);
    for (const [at, value] of edits) if (out.length > 0) out[at % out.length] = value;
    return Buffer.concat([out.subarray(0, out.length === 0 ? 0 : out.length - (cut % (out.length + 1))), tail]);
  });

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch (err) {
    assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
    return { ok: false };
  }
}

for (const [name, input] of [
  ["valid requests", validRequest],
  ["mutated requests", mutatedRequest],
  ["arbitrary bytes", fc.uint8Array({ maxLength: 200 })],
] as const) {
  test(`${name}: the decoder agrees with fromBinary, on a fresh decoder and on one with history`, () => {
    const seasoned = new RequestDecoder();
    fc.assert(
      fc.property(fc.array(input as fc.Arbitrary<Uint8Array>, { minLength: 1, maxLength: 4 }), (frames) => {
        for (const frame of frames) {
          const expected = outcome(() => fromBinary(DiscoveryRequestSchema, frame));
          for (const decoder of [new RequestDecoder(), seasoned]) {
            const got = outcome(() => decoder.decode(frame));
            assert.equal(
              got.ok,
              expected.ok,
              `decoder ${got.ok ? "accepted" : "refused"} what fromBinary ${expected.ok ? "accepted" : "refused"}: ${Buffer.from(frame).toString("hex")}`,
            );
            if (got.ok && expected.ok) assert.ok(equals(DiscoveryRequestSchema, got.value as never, expected.value as never));
          }
        }
      }),
      { seed, numRuns: 1500 },
    );
  });
}
