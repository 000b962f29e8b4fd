// The incremental services: ADS (DeltaAggregatedResources) and the Delta* method of every registered type's own
// discovery service (resource/types.ts perTypeService), each driving a DeltaStream. Delta requests are small (they
// carry subscription changes, not the whole subscription), so they are decoded with protobuf-es directly.
import { fromBinary } from "@bufbuild/protobuf";
import { type DeltaDiscoveryRequest, DeltaDiscoveryRequestSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import { discoveryMethods } from "../../resource/discovery-service.js";
import { resourceTypes } from "../../resource/types.js";
import type { XdsService } from "../service-table.js";
import { serviceLabel } from "../service-label.js";
import { DeltaStream } from "./delta-stream.js";
import { streamOptionsOf } from "./typed-stream.js";

function deltaService(path: string, label: string, fixedTypeUrl?: string): XdsService<DeltaDiscoveryRequest> {
  return {
    kind: "grpc",
    callKind: "bidi_streaming",
    protocol: "delta",
    path,
    label,
    decoder: () => (message) => fromBinary(DeltaDiscoveryRequestSchema, message),
    // At most one response per type is in flight (the protocol's rule), so what a transport buffers per call is
    // bounded by the number of types: no queue is needed.
    start: (context, info, reply) =>
      new DeltaStream(
        streamOptionsOf(
          context,
          info,
          (response) => reply.send(response),
          fixedTypeUrl,
          (code, message) => reply.fail(code, message),
        ),
      ),
  };
}

export const deltaServices: readonly XdsService<DeltaDiscoveryRequest>[] = [
  deltaService(discoveryMethods(AggregatedDiscoveryService).delta!, serviceLabel("delta", "ads")),
  ...resourceTypes.flatMap((t) => {
    const path = t.perTypeService && discoveryMethods(t.perTypeService).delta;
    return path ? [deltaService(path, serviceLabel("delta", t.short), t.typeUrl)] : [];
  }),
];
