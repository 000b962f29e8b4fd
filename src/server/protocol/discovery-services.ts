// The discovery services of one protocol (state of the world or incremental): ADS, and the method of that protocol
// on every registered type's own discovery service (resource/types.ts perTypeService), which serves that type only.
// Each call drives one stream of the protocol. At most one response per type is in flight (the protocol's rule), so
// what a transport buffers per call is bounded by the number of types: no queue is needed.
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import { discoveryMethods } from "../../resource/discovery-service.js";
import { resourceTypes } from "../../resource/types.js";
import type { ProtocolStream, XdsService } from "../service-table.js";
import { serviceLabel } from "../service-label.js";
import type { WireResponse } from "../transport/wire-response.js";
import { streamOptionsOf, type TypedStreamOptions } from "./typed-stream.js";

export function discoveryServices<Request, Response extends WireResponse>(
  protocol: "sotw" | "delta",
  decoder: XdsService<Request>["decoder"],
  streamOf: (options: TypedStreamOptions<Response>) => ProtocolStream<Request>,
): readonly XdsService<Request>[] {
  const service = (path: string, label: string, fixedTypeUrl?: string): XdsService<Request> => ({
    kind: "grpc",
    callKind: "bidi_streaming",
    protocol,
    path,
    label,
    decoder,
    start: (context, info, reply) =>
      streamOf(
        streamOptionsOf<Response>(
          context,
          info,
          (response) => reply.send(response),
          fixedTypeUrl,
          (code, message) => reply.fail(code, message),
        ),
      ),
  });
  return [
    service(discoveryMethods(AggregatedDiscoveryService)[protocol]!, serviceLabel(protocol, "ads")),
    ...resourceTypes.flatMap((t) => {
      const path = t.perTypeService && discoveryMethods(t.perTypeService)[protocol];
      return path ? [service(path, serviceLabel(protocol, t.short), t.typeUrl)] : [];
    }),
  ];
}
