// The incremental services: ADS (DeltaAggregatedResources) and the Delta* method of every registered type's own
// discovery service (resource/types.ts perTypeService), each driving a DeltaStream. Delta requests are small (they
// carry subscription changes, not the whole subscription), so they are decoded with protobuf-es directly.
import { fromBinary } from "@bufbuild/protobuf";
import { type DeltaDiscoveryRequest, DeltaDiscoveryRequestSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { resourceTypes } from "../../resource/types.js";
import type { XdsService } from "../service-table.js";
import { DeltaStream } from "./delta-stream.js";
import { streamOptionsOf } from "./typed-stream.js";

function deltaService(path: string, label: string, fixedTypeUrl?: string): XdsService<DeltaDiscoveryRequest> {
  return {
    path,
    label,
    decoder: () => (message) => fromBinary(DeltaDiscoveryRequestSchema, message),
    start: (context, info, send) => new DeltaStream(streamOptionsOf(context, info, send, fixedTypeUrl)),
  };
}

export const deltaServices: readonly XdsService<DeltaDiscoveryRequest>[] = [
  deltaService("/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources", "delta-ads"),
  ...resourceTypes.flatMap((t) =>
    t.perTypeService?.deltaMethod ? [deltaService(`/${t.perTypeService.service}/${t.perTypeService.deltaMethod}`, `delta-${t.short}`, t.typeUrl)] : [],
  ),
];
