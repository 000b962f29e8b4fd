// LRS on the xDS port (protocol/lrs-service.ts), driven by a grpc-js client: the first request gets one answer —
// every cluster, per endpoint, at the sink's interval — each report reaches the sink, the stream's requests in
// progress are forgotten when it ends, a node over the limits is refused, and a server without a sink says so.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { LoadReports } from "../../src/server/load-reports.js";
import {
  LoadStatsRequestSchema,
  LoadStatsResponseSchema,
  type LoadStatsRequest,
  type LoadStatsResponse,
} from "../../src/gen/envoy/service/load_stats/v3/lrs_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { eventually } from "../support/raw-grpc.js";
import { NodeStatuses } from "../../src/server/node-status.js";
import { nodeDiff, nodeDiffs } from "../../src/server/node-diff.js";

const path = "/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats";
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const servers: XdsServer[] = [];

async function server(loads?: LoadReports): Promise<number> {
  const s = new XdsServer({ cache: new SnapshotCache(), loads, maxNodeIdBytes: 64 });
  const port = await s.listen("127.0.0.1:0");
  servers.push(s);
  cleanups.push(() => s.close(0));
  return port;
}

function stream(port: number) {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  cleanups.push(() => client.close());
  const call = client.makeBidiStreamRequest(
    path,
    (r: LoadStatsRequest) => Buffer.from(toBinary(LoadStatsRequestSchema, r)),
    (b: Buffer) => fromBinary(LoadStatsResponseSchema, b),
  );
  const responses: LoadStatsResponse[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("data", (r: LoadStatsResponse) => responses.push(r));
  call.on("error", () => {});
  const send = (init: MessageInitShape<typeof LoadStatsRequestSchema>) => call.write(create(LoadStatsRequestSchema, init));
  return { call, responses, ended, send };
}

const report = (issued: number, inProgress: number): MessageInitShape<typeof LoadStatsRequestSchema> => ({
  clusterStats: [
    {
      clusterName: "web",
      upstreamLocalityStats: [
        { locality: { zone: "a" }, totalIssuedRequests: BigInt(issued), totalSuccessfulRequests: BigInt(issued), totalRequestsInProgress: BigInt(inProgress) },
      ],
    },
  ],
});

test("one answer to the first request (every cluster, per endpoint, the interval), then each report is summed", async () => {
  const loads = new LoadReports({ lrsInterval: 3 });
  const s = stream(await server(loads));
  s.send({ node: { id: "lrs-1", cluster: "c" } });
  await eventually(() => s.responses.length === 1, "the LRS response");
  const [r] = s.responses;
  assert.equal(r.sendAllClusters, true);
  assert.equal(r.reportEndpointGranularity, true);
  assert.equal(r.loadReportingInterval?.seconds, 3n);
  s.send(report(5, 2));
  s.send(report(7, 1));
  await eventually(() => loads.view().clusters[0]?.requests.issued === 12, "both reports summed");
  assert.equal(loads.view().clusters[0].requests.in_progress, 1, "the latest level");
  assert.equal(s.responses.length, 1, "answered once");
  s.call.end();
  assert.equal((await s.ended).code, grpc.status.OK);
  await eventually(() => loads.view().clusters[0]?.requests.in_progress === 0, "the ended stream's requests in progress forgotten");
  assert.equal(loads.view().clusters[0].requests.issued, 12, "its counts stay for the window");
});

test("a node over the limits is refused before anything is kept", async () => {
  const loads = new LoadReports();
  const s = stream(await server(loads));
  s.send({ node: { id: "x".repeat(100) }, clusterStats: report(1, 0).clusterStats });
  const end = await s.ended;
  assert.equal(end.code, grpc.status.INVALID_ARGUMENT);
  assert.match(end.details, /node\.id is 100 bytes/);
  assert.deepEqual(loads.view().clusters, []);
});

test("a server without a load sink answers UNIMPLEMENTED, saying why", async () => {
  const s = stream(await server());
  s.send({ node: { id: "lrs-2" } });
  const end = await s.ended;
  assert.equal(end.code, grpc.status.UNIMPLEMENTED);
  assert.match(end.details, /keeps no load reports/);
});

// GET /nodes lists every stream of a node, the one it reports loads on too; but that stream is told no config, so a
// node's diff (GET /nodes/{node}, `xdsd status --version`) leaves it out.
test("the reporting stream is listed among its node's streams, and not taken for a client served config", async () => {
  const loads = new LoadReports();
  const s = stream(await server(loads));
  const xds = servers.at(-1)!;
  s.send({ node: { id: "lrs-3", cluster: "c" } });
  await eventually(() => s.responses.length === 1, "the LRS response");
  const page = new NodeStatuses(xds).page({ limit: 10 });
  assert.deepEqual(
    page.nodes.map((n) => [n.node, n.services, n.types]),
    [["c/lrs-3", { "lrs-loads": 1 }, {}]],
  );
  assert.equal(nodeDiff(xds, new SnapshotCache(), "c/lrs-3"), undefined);
  assert.deepEqual(nodeDiffs(xds, new SnapshotCache(), ["c/lrs-3"]), []);
  s.call.end();
  await s.ended;
  await eventually(() => new NodeStatuses(xds).page({ limit: 10 }).total === 0, "the node gone with its stream");
});
