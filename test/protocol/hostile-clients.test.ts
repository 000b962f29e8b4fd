// Clients that break gRPC on purpose or by accident, each found by a fuzzing pass (issue 10): none may make the
// server buffer without bound, drop healthy streams, or answer a broken request with OK.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer, type XdsServerOptions } from "../../src/server/xds-server.js";
import { GrpcStatus } from "../../src/grpc-status.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { defaultTransportLimits } from "../../src/server/transport/transport-limits.js";
import type { Logger } from "../../src/log.js";
import { connect, eventually, grpcFrame, openCall, requestBytes } from "../support/raw-grpc.js";
import { errorCodeOf, FrameType, lastStreamIdOf, RawHttp2Connection } from "../support/raw-http2.js";
import { edsCluster, endpoints, node } from "../support/resources.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

async function start(options: Partial<XdsServerOptions> = {}) {
  const cache = new SnapshotCache();
  cache.setDefaultSnapshot(Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]));
  const server = new XdsServer({ cache, ...options });
  const address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  cleanups.push(() => server.close(200));
  const session = async () => {
    const s = await connect(address);
    cleanups.push(() => void s.destroy());
    return s;
  };
  return { cache, server, address, session };
}

const goodRequest = grpcFrame(requestBytes({ node: node("ok"), typeUrl: TypeUrl.Cluster }));

test("after RESOURCE_EXHAUSTED for a 2 GB message the stream is reset and nothing more is buffered", { timeout: 10_000 }, async () => {
  const { server, session } = await start();
  const call = openCall(await session());
  call.stream.write(grpcFrame(Buffer.alloc(1024), 2 ** 31 - 1));
  const trailers = await call.trailers;
  assert.equal(trailers.status, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.match(trailers.message ?? "", /2147483647 bytes exceeds the limit of 4194304/);
  // The client goes on sending, as the attacker did; the server must have closed the stream, not read on.
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  const pump = setInterval(() => {
    if (call.stream.destroyed) return;
    for (let i = 0; i < 16; i++) call.stream.write(chunk);
    sent += 16 * chunk.length;
  }, 5);
  const end = await call.ended;
  clearInterval(pump);
  assert.equal(end.rstCode, http2.constants.NGHTTP2_NO_ERROR, "the server resets the stream with NO_ERROR after its trailers");
  assert.equal(server.bufferedRequestBytes, 0);
  assert.ok(sent < 64 * 1024 * 1024, `the stream was closed after ${sent} bytes more`);
});

test("bytes of incomplete messages are bounded per connection and over all connections", { timeout: 10_000 }, async () => {
  const limits = { maxRequestBytes: 1_000_000, maxBufferedBytesPerConnection: 2_000_000, maxBufferedBytes: 3_000_000 };
  const { server, session } = await start(limits);
  const partial = grpcFrame(Buffer.alloc(900_000), 999_000); // just under the message limit, never completed
  const first = await session();
  const a = [openCall(first), openCall(first), openCall(first)];
  for (const c of a) c.stream.write(partial);
  const third = await a[2].trailers;
  assert.equal(third.status, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.match(third.message ?? "", /this connection already buffers \d+ bytes of incomplete requests; the limit is 2000000/);
  const second = await session();
  const b = [openCall(second), openCall(second)];
  b[0].stream.write(partial);
  // Each message being assembled holds its whole declared length (and header) of the budget: 999,005 bytes.
  await eventually(() => server.bufferedRequestBytes === 3 * 999_005, "three partial messages buffered");
  b[1].stream.write(partial);
  const over = await b[1].trailers;
  assert.equal(over.status, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.match(over.message ?? "", /the server already buffers \d+ bytes of incomplete requests; the limit is 3000000/);
  assert.ok(server.bufferedRequestBytes <= limits.maxBufferedBytes);
  first.destroy();
  second.destroy();
  await eventually(() => server.bufferedRequestBytes === 0, "buffers released when the clients disconnect");
});

test("a connection may open at most maxStreamsPerConnection streams at once: the one over is refused, the others are served", async () => {
  const { address, session } = await start({ maxStreamsPerConnection: 5 });
  const advertised = await session();
  await eventually(() => advertised.remoteSettings.maxConcurrentStreams === 5, "the server's SETTINGS");
  // Six streams in the client's first flight, before it has read the server's SETTINGS (as a client that opens its
  // streams at once does): the sixth is refused (RFC 9113 §5.1.2, REFUSED_STREAM: not processed, safe to retry).
  const c = await RawHttp2Connection.open(address);
  cleanups.push(() => c.destroy());
  const ids = [1, 3, 5, 7, 9];
  c.send(c.preface(), ...ids.map((id) => c.openStream(id)), c.openStream(11));
  await c.until(() => c.received({ type: FrameType.RST_STREAM, streamId: 11 }).length > 0, "stream 11 to be refused");
  assert.equal(errorCodeOf(c.received({ type: FrameType.RST_STREAM, streamId: 11 })[0]), http2.constants.NGHTTP2_REFUSED_STREAM);
  // The five stay open and are served: each asks for CDS and gets it.
  c.send(c.ackSettings(), ...ids.map((id) => c.data(id, goodRequest)));
  await c.until(() => ids.every((id) => c.received({ type: FrameType.DATA, streamId: id }).length > 0), "a response on each of the five");
  assert.deepEqual(
    c.received({ type: FrameType.RST_STREAM }).map((f) => f.streamId),
    [11],
  );
  assert.equal(c.received({ type: FrameType.GOAWAY }).length, 0);
});

test("a client that opens a stream over the limit it has acknowledged loses its connection, not the server's other clients", async () => {
  const { address, session } = await start({ maxStreamsPerConnection: 5 });
  const c = await RawHttp2Connection.open(address);
  cleanups.push(() => c.destroy());
  c.send(c.preface());
  await c.until(() => c.received({ type: FrameType.SETTINGS, flags: 0 }).length > 0, "the server's SETTINGS");
  const ids = [1, 3, 5, 7, 9];
  c.send(c.ackSettings(), ...ids.map((id) => c.openStream(id)));
  await c.until(() => ids.every((id) => c.received({ type: FrameType.HEADERS, streamId: id }).length > 0), "the five streams answered");
  // nghttp2 takes a stream over a limit the client has acknowledged for a connection error (RFC 9113 §5.4.1 allows
  // it): GOAWAY naming the last stream it processed, so the client knows the sixth was not, and the connection ends.
  c.send(c.openStream(11));
  await c.until(() => c.closed, "the connection to end");
  const [goaway] = c.received({ type: FrameType.GOAWAY });
  assert.ok(goaway, "GOAWAY before the connection closed");
  assert.equal(lastStreamIdOf(goaway), 9);
  assert.equal(c.received({ type: FrameType.HEADERS, streamId: 11 }).length, 0, "the sixth stream was never served");
  // Another connection is served as before.
  const other = openCall(await session());
  other.stream.write(goodRequest);
  await eventually(() => other.seen.messages === 1, "a CDS response on another connection");
});

test("a client that churns streams gets GOAWAY with ENHANCE_YOUR_CALM, not INTERNAL_ERROR; its healthy streams stay", { timeout: 60_000 }, async () => {
  const log = recordingLog();
  const { session } = await start({ log });
  const s = await session();
  let goaway: number | undefined;
  s.on("goaway", (code) => (goaway = code));
  // Node's client destroys its connection on any GOAWAY with an error code, where RFC 9113 §6.8 lets the streams up
  // to the GOAWAY's last stream id complete — which is what Envoy does (it drains the connection). Behave as Envoy.
  const destroy = s.destroy.bind(s);
  s.destroy = ((...args: Parameters<typeof s.destroy>) => (goaway === undefined ? destroy(...args) : undefined)) as typeof s.destroy;
  cleanups.push(() => destroy());
  const healthy = Array.from({ length: 50 }, () => openCall(s));
  for (const h of healthy) h.stream.write(goodRequest);
  await eventually(() => healthy.every((h) => h.seen.messages === 1), "a CDS response on every healthy stream");
  // What the fuzzer did: streams that get an error status (a request without a node) and are cancelled after it.
  // nghttp2 ends a connection with GOAWAY INTERNAL_ERROR after 1,000 such resets (stream-rate-limit.ts).
  const noNode = grpcFrame(requestBytes({ typeUrl: TypeUrl.Cluster }));
  let answered = 0;
  let refused = 0;
  for (let i = 0; i < 1100 && goaway === undefined; i++) {
    const c = openCall(s);
    c.stream.write(noNode);
    const end = await c.trailers;
    if (end.status === GrpcStatus.INVALID_ARGUMENT) {
      answered++;
      if (!c.stream.closed) c.stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    if ((await c.ended).rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) refused++;
  }
  assert.equal(goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  const burst = defaultTransportLimits.streamBurstPerConnection;
  assert.ok(answered >= burst - healthy.length && answered < 1000, `${answered} streams answered`);
  assert.ok(refused >= 1, "the stream over the limit is refused");
  assert.ok(
    log.lines.some((l) =>
      /^warn xDS connection from \S+ opens streams faster than the limit \(500 in a burst, then 16\/s\): sent GOAWAY with ENHANCE_YOUR_CALM; its 50 open stream\(s\) are served until they end/.test(
        l,
      ),
    ),
    log.lines.join("\n"),
  );
  // The healthy streams are still served: each asks for another type and gets it.
  for (const h of healthy) h.stream.write(grpcFrame(requestBytes({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a"] })));
  await eventually(() => healthy.every((h) => h.seen.messages === 2 && !h.stream.closed), "an EDS response on every healthy stream");
});

test("a truncated message followed by a clean half-close ends with INTERNAL, not OK", { timeout: 10_000 }, async () => {
  const { session } = await start();
  const call = openCall(await session());
  call.stream.end(grpcFrame(Buffer.alloc(10), 100));
  const end = await call.trailers;
  assert.equal(end.status, GrpcStatus.INTERNAL);
  assert.match(end.message ?? "", /ended inside a message \(15 bytes of an incomplete message\)/);
});
