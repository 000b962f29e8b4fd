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
import { clientsReadableBy } from "../authorization.js";
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
    start(context: ServiceContext, info, reply) {
      // With authorization, a caller sees only the clients whose config its identity may read (authorization.ts).
      const { authorize } = context;
      const clients = authorize ? clientsReadableBy(context.clients, context.source, authorize, info.identity) : context.clients;
      return {
        handleRequest(request) {
          const response = clientStatusResponse(clients, context.source, request);
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
