// A node over the limits of node-limits.ts (its id, cluster, metadata) is refused by every protocol before anything
// of it is kept (issue 18 item 1: anonymous REST polls with 1.5 MB of metadata, or ADS streams with it, took the
// daemon out of memory): gRPC SotW and delta end the stream with INVALID_ARGUMENT naming the limit and its flag,
// REST answers 400; the node never reaches status, and a healthy node is served alongside.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { DeltaDiscoveryRequestSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { NodeSchema } from "../../src/gen/envoy/config/core/v3/base_pb.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { GrpcStatus } from "../../src/grpc-status.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { connect, eventually, grpcFrame, openCall, requestBytes } from "../support/raw-grpc.js";
import { poll } from "../support/rest-client.js";
import { twoClusters } from "../support/resources.js";

const deltaAdsPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";
const cache = new SnapshotCache();
cache.setDefaultSnapshot(twoClusters());
const server = new XdsServer({ cache, maxNodeIdBytes: 100, maxNodeMetadataBytes: 1000 });
const status = new NodeStatuses(server);
let address = "";

before(async () => {
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
});
after(async () => {
  await server.close(200);
});

/** A SotW request of a node, as a gRPC message. */
const sotw = (node: { id: string; cluster: string; metadata?: { blob: string } }) =>
  grpcFrame(requestBytes({ node: create(NodeSchema, node), typeUrl: TypeUrl.Cluster }));
/** Metadata of about `bytes` bytes encoded. */
const metadata = (bytes: number) => ({ blob: "m".repeat(bytes) });
const overMetadata =
  /node\.metadata is \d+ bytes, over the limit of 1000 \(--max-node-metadata-bytes raises it\); the request was refused and nothing of it kept/;
const overId = /node\.id is 101 bytes, over the limit of 100 \(--max-node-id-bytes raises it\)/;

test("gRPC SotW: a first request whose node's metadata or id is over the limit ends the stream with INVALID_ARGUMENT", { timeout: 10_000 }, async () => {
  const session = await connect(address);
  try {
    const refused: [Parameters<typeof sotw>[0], RegExp][] = [
      [{ id: "big-meta", cluster: "c", metadata: metadata(2000) }, overMetadata],
      [{ id: "i".repeat(101), cluster: "c" }, overId],
      [{ id: "big-cluster", cluster: "é".repeat(51) }, /node\.cluster is 102 bytes, over the limit of 100/],
    ];
    for (const [node, message] of refused) {
      const call = openCall(session);
      call.stream.write(sotw(node));
      const end = await call.trailers;
      assert.equal(end.status, GrpcStatus.INVALID_ARGUMENT);
      assert.match(end.message ?? "", message);
      assert.equal(end.messages, 0);
    }
    // At the limit is fine, and served.
    const ok = openCall(session);
    ok.stream.write(sotw({ id: "i".repeat(100), cluster: "c", metadata: metadata(900) }));
    await eventually(() => ok.seen.messages === 1, "the CDS response");
    assert.deepEqual(
      status.list().map((n) => n.node),
      [`c/${"i".repeat(100)}`],
      "only the node within the limits is known",
    );
    ok.stream.close();
  } finally {
    session.destroy();
  }
});

test("gRPC SotW: a node that grows over the limit on a later request ends the stream too", { timeout: 10_000 }, async () => {
  const session = await connect(address);
  try {
    const call = openCall(session);
    call.stream.write(sotw({ id: "grows", cluster: "c" }));
    call.stream.write(sotw({ id: "grows", cluster: "c", metadata: metadata(2000) }));
    const end = await call.trailers;
    assert.equal(end.status, GrpcStatus.INVALID_ARGUMENT);
    assert.match(end.message ?? "", overMetadata);
  } finally {
    session.destroy();
  }
});

test("gRPC delta: a node over the metadata limit ends the stream with INVALID_ARGUMENT", { timeout: 10_000 }, async () => {
  const session = await connect(address);
  try {
    const call = openCall(session, deltaAdsPath);
    const req = create(DeltaDiscoveryRequestSchema, { node: { id: "delta-big", cluster: "c", metadata: metadata(2000) }, typeUrl: TypeUrl.Cluster });
    call.stream.write(grpcFrame(toBinary(DeltaDiscoveryRequestSchema, req)));
    const end = await call.trailers;
    assert.equal(end.status, GrpcStatus.INVALID_ARGUMENT);
    assert.match(end.message ?? "", overMetadata);
    assert.equal(status.get("c/delta-big"), undefined);
  } finally {
    session.destroy();
  }
});

test("REST: a poll whose node is over a limit is answered 400 naming the limit, and the poller is not remembered", { timeout: 10_000 }, async () => {
  const before = server.streams().length;
  const big = await poll(address, "/v3/discovery:clusters", { node: { id: "rest-big", cluster: "c", metadata: metadata(2000) } });
  assert.equal(big.status, 400);
  assert.match(JSON.parse(big.text).detail, overMetadata);
  assert.equal(JSON.parse(big.text).code, "XDSD_NODE_LIMIT");
  const long = await poll(address, "/v3/discovery:clusters", { node: { id: "i".repeat(101), cluster: "c" } });
  assert.equal(long.status, 400);
  assert.match(JSON.parse(long.text).detail, overId);
  assert.equal(server.streams().length, before, "nothing remembered");
  assert.equal(status.get("c/rest-big"), undefined);
});
