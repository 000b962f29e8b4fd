// The gRPC framer: unit cases and properties (fast-check). Whatever bytes arrive, in whatever pieces, it yields
// exactly the messages they hold, fails only with a documented status, never holds more than its budget, and gives
// every byte of the budget back.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { GrpcMessageReader } from "../../src/server/transport/grpc-message-reader.js";
import { GrpcFramingError } from "../../src/errors.js";
import { ByteBudget } from "../../src/server/transport/byte-budget.js";
import { GrpcStatus } from "../../src/grpc-status.js";

const frame = (payload: Uint8Array, declared = payload.length, flag = 0) => {
  const b = Buffer.alloc(5 + payload.length);
  b[0] = flag;
  b.writeUInt32BE(declared, 1);
  b.set(payload, 5);
  return b;
};

/** `bytes` cut at the given fractions. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    if (p > last) out.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  return out;
}

const seed = 20261201;

test("valid messages split anywhere come out whole and in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
      (payloads, cuts) => {
        const budget = new ByteBudget(10_000);
        const reader = new GrpcMessageReader(1000, budget);
        const out: Buffer[] = [];
        for (const chunk of split(Buffer.concat(payloads.map((p) => frame(p))), cuts)) out.push(...reader.push(chunk));
        assert.deepEqual(
          out.map((b) => [...b]),
          payloads.map((p) => [...p]),
        );
        assert.equal(reader.end(), undefined);
        assert.equal(budget.used, 0);
      },
    ),
    { seed, numRuns: 500 },
  );
});

test("arbitrary bytes: only GrpcFramingError with a documented status, bounded buffering, the budget given back", () => {
  const documented = new Set<number>([GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.UNIMPLEMENTED, GrpcStatus.INTERNAL]);
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }), fc.boolean(), (chunks, endCleanly) => {
      const connection = new ByteBudget(700, new ByteBudget(100_000));
      const reader = new GrpcMessageReader(512, connection);
      let failed: unknown;
      for (const chunk of chunks) {
        try {
          reader.push(Buffer.from(chunk));
        } catch (err) {
          failed = err;
          break;
        }
        assert.ok(connection.used <= 700 && reader.bufferedBytes <= 700);
      }
      if (failed) {
        assert.ok(failed instanceof GrpcFramingError, String(failed));
        assert.ok(documented.has(failed.status));
        assert.equal(reader.push(Buffer.from([0, 0, 0, 0, 0])).length, 0, "a failed reader takes nothing more");
      } else if (endCleanly) {
        const truncated = reader.end();
        if (truncated) assert.equal(truncated.status, GrpcStatus.INTERNAL);
      } else {
        reader.release();
      }
      assert.equal(connection.used, 0);
    }),
    { seed, numRuns: 1000 },
  );
});

test("a declared length over the limit fails at once, before the message arrives", () => {
  const reader = new GrpcMessageReader(100);
  assert.throws(
    () => reader.push(frame(Buffer.alloc(0), 2 ** 31)),
    (e: unknown) => e instanceof GrpcFramingError && e.status === GrpcStatus.RESOURCE_EXHAUSTED,
  );
});

test("a compressed message is UNIMPLEMENTED", () => {
  const reader = new GrpcMessageReader(100);
  assert.throws(
    () => reader.push(frame(Buffer.alloc(3), 3, 1)),
    (e: unknown) => e instanceof GrpcFramingError && e.status === GrpcStatus.UNIMPLEMENTED,
  );
});

test("the budget of the whole server is shared by its connections", () => {
  const server = new ByteBudget(100);
  const a = new GrpcMessageReader(1000, new ByteBudget(80, server));
  const b = new GrpcMessageReader(1000, new ByteBudget(80, server));
  // A message being assembled holds its declared length and header of the budget from its header on.
  a.push(frame(Buffer.alloc(10), 60));
  assert.throws(() => b.push(frame(Buffer.alloc(10), 60)), /the server already buffers 65 bytes of incomplete requests; the limit is 100/);
  a.release();
  assert.equal(server.used, 0);
});

test("one byte per chunk of a large message costs its declared length of the budget, not a chunk each", () => {
  const budget = new ByteBudget(2000);
  const reader = new GrpcMessageReader(1000, budget);
  const bytes = frame(Buffer.alloc(900, 7));
  const out: Buffer[] = [];
  // Each byte a slice of a 64 KiB buffer, as node hands out DATA frames: the reader must not keep those alive.
  const big = Buffer.alloc(64 * 1024);
  for (let i = 0; i < bytes.length; i++) {
    big[i] = bytes[i];
    out.push(...reader.push(big.subarray(i, i + 1)));
    if (i >= 5 && i < bytes.length - 1) assert.equal(budget.used, 905);
  }
  assert.equal(out.length, 1);
  assert.ok(out[0].buffer !== big.buffer, "the message is in a buffer of the reader's own");
  assert.deepEqual([...out[0]], Array(900).fill(7));
  assert.equal(budget.used, 0);
});
