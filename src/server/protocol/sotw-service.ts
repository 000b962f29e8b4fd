// The state-of-the-world services: ADS (StreamAggregatedResources) and the Stream* method of every registered
// type's own discovery service (resource/types.ts perTypeService), each driving a SotwStream.
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { AggregatedDiscoveryService } from "../../gen/envoy/service/discovery/v3/ads_pb.js";
import { discoveryMethods } from "../../resource/discovery-service.js";
import { resourceTypes } from "../../resource/types.js";
import { RequestDecoder } from "../decoding/request-decoder.js";
import type { XdsService } from "../service-table.js";
import { serviceLabel } from "../service-label.js";
import { SotwStream } from "./sotw-stream.js";
import { streamOptionsOf } from "./typed-stream.js";

function sotwService(path: string, label: string, fixedTypeUrl?: string): XdsService<DiscoveryRequest> {
  return {
    kind: "grpc",
    callKind: "bidi_streaming",
    protocol: "sotw",
    path,
    label,
    decoder(names) {
      const decoder = new RequestDecoder(names);
      return (message) => decoder.decode(message);
    },
    // At most one response per type is in flight (the protocol's rule), so what a transport buffers per call is
    // bounded by the number of types: no queue is needed.
    start: (context, info, reply) =>
      new SotwStream(
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

export const sotwServices: readonly XdsService<DiscoveryRequest>[] = [
  sotwService(discoveryMethods(AggregatedDiscoveryService).sotw!, serviceLabel("sotw", "ads")),
  ...resourceTypes.flatMap((t) => {
    const path = t.perTypeService && discoveryMethods(t.perTypeService).sotw;
    return path ? [sotwService(path, serviceLabel("sotw", t.short), t.typeUrl)] : [];
  }),
];
