// The state-of-the-world services: ADS (StreamAggregatedResources) and the Stream* method of every registered
// type's own discovery service (resource/types.ts perTypeService), each driving a SotwStream.
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { resourceTypes } from "../../resource/types.js";
import { RequestDecoder } from "../decoding/request-decoder.js";
import type { XdsService } from "../service-table.js";
import { SotwStream } from "./sotw-stream.js";
import { streamOptionsOf } from "./typed-stream.js";

function sotwService(path: string, label: string, fixedTypeUrl?: string): XdsService<DiscoveryRequest> {
  return {
    path,
    label,
    decoder(names) {
      const decoder = new RequestDecoder(names);
      return (message) => decoder.decode(message);
    },
    start: (context, info, send) => new SotwStream(streamOptionsOf(context, info, send, fixedTypeUrl)),
  };
}

export const sotwServices: readonly XdsService<DiscoveryRequest>[] = [
  sotwService("/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources", "ads"),
  ...resourceTypes.flatMap((t) => (t.perTypeService ? [sotwService(`/${t.perTypeService.service}/${t.perTypeService.sotwMethod}`, t.short, t.typeUrl)] : [])),
];
