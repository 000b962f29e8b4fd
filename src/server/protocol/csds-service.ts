// The Client Status Discovery Service (envoy.service.status.v3.ClientStatusDiscoveryService): FetchClientStatus,
// one request and one answer, and StreamClientStatus, an answer to each request until the client half-closes.
// Both answer from the server's client state (client-status-response.ts); neither changes anything.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientStatusDiscoveryService,
  ClientStatusRequestSchema,
  ClientStatusResponseSchema,
  type ClientStatusRequest,
} from "../../gen/envoy/service/status/v3/csds_pb.js";
import { clientStatusResponse } from "../client-status-response.js";
import type { CallKind, ServiceContext, XdsService } from "../service-table.js";
import { serviceLabel } from "../service-label.js";

const noNonce = new Uint8Array();

function csdsService(method: "fetchClientStatus" | "streamClientStatus", callKind: CallKind, service: string): XdsService<ClientStatusRequest> {
  const desc = ClientStatusDiscoveryService.method[method];
  return {
    kind: "grpc",
    callKind,
    protocol: "csds",
    path: `/${ClientStatusDiscoveryService.typeName}/${desc.name}`,
    label: serviceLabel("csds", service),
    decoder: () => (message) => fromBinary(ClientStatusRequestSchema, message),
    start(context: ServiceContext, _info, reply) {
      return {
        handleRequest(request) {
          const response = clientStatusResponse(context.clients, context.source, request);
          reply.send({ body: toBinary(ClientStatusResponseSchema, response), nonceField: noNonce });
          if (callKind === "unary") reply.end();
        },
        requestsEnded() {
          reply.end();
        },
        close() {},
      };
    },
  };
}

export const csdsServices: readonly XdsService<ClientStatusRequest>[] = [
  csdsService("fetchClientStatus", "unary", "fetch"),
  csdsService("streamClientStatus", "bidi_streaming", "stream"),
];
