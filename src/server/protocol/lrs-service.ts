// The Load Reporting Service (envoy.service.load_stats.v3.LoadReportingService.StreamLoadStats): a client (Envoy's
// cluster manager with load_stats_config, or a gRPC client whose cluster names an lrs_server) opens the stream with
// its node, xdsd answers once which clusters to report on and how often, and the client then sends its load every
// interval. xdsd asks for every cluster (`send_all_clusters`: grpc-js never reports the first cluster of an explicit
// list), per endpoint where the client can (`report_endpoint_granularity`), and hands each report to the server's
// load sink (load-reports.ts), which forgets the stream's requests in progress when the stream ends.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { LoadReportingService, LoadStatsRequestSchema, LoadStatsResponseSchema, type LoadStatsRequest } from "../../gen/envoy/service/load_stats/v3/lrs_pb.js";
import { GrpcStatus } from "../../grpc-status.js";
import { checkNode } from "../node-limits.js";
import { serviceLabel } from "../service-label.js";
import type { XdsService } from "../service-table.js";

const noNonce = new Uint8Array();

export const lrsService: XdsService<LoadStatsRequest> = {
  kind: "grpc",
  callKind: "bidi_streaming",
  protocol: "lrs",
  path: `/${LoadReportingService.typeName}/${LoadReportingService.method.streamLoadStats.name}`,
  label: serviceLabel("lrs", "loads"),
  decoder: () => (message) => fromBinary(LoadStatsRequestSchema, message),
  start(context, info, reply) {
    const loads = context.loads;
    let answered = false;
    return {
      handleRequest(request) {
        if (!loads) {
          reply.fail(GrpcStatus.UNIMPLEMENTED, "this server keeps no load reports (it was started without a load sink)");
          return;
        }
        if (!answered) {
          // The first request says who reports (LRS: the node only in the first message); it is checked like any
          // node. The stream's reports are summed with every other client's; the node is kept on the stream, so
          // that GET /nodes lists the stream among the node's (`lrs-loads`) — it is told no config, so no event
          // says it was identified (rollouts, the dashboard's feed and metrics follow config streams).
          if (request.node && context.nodeLimits) checkNode(request.node, context.nodeLimits);
          if (request.node) info.node = request.node;
          answered = true;
          const response = create(LoadStatsResponseSchema, {
            sendAllClusters: true,
            loadReportingInterval: { seconds: BigInt(loads.intervalSeconds) },
            reportEndpointGranularity: true,
          });
          reply.send({ body: toBinary(LoadStatsResponseSchema, response), nonceField: noNonce });
        }
        loads.record(info.id, request.clusterStats);
      },
      requestsEnded() {
        reply.end();
      },
      close() {
        loads?.forget(info.id);
      },
    };
  },
};
