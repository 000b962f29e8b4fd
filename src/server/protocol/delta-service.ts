// The incremental services: ADS (DeltaAggregatedResources) and the Delta* method of every registered type's own
// discovery service, each driving a DeltaStream. Delta requests are small (they carry subscription changes, not the
// whole subscription), so they are decoded with protobuf-es directly.
import { fromBinary } from "@bufbuild/protobuf";
import { type DeltaDiscoveryRequest, DeltaDiscoveryRequestSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { DeltaStream } from "./delta-stream.js";
import { discoveryServices } from "./discovery-services.js";
import type { DeltaResponse } from "./delta-response.js";

export const deltaServices = discoveryServices<DeltaDiscoveryRequest, DeltaResponse>(
  "delta",
  () => (message) => fromBinary(DeltaDiscoveryRequestSchema, message),
  (options) => new DeltaStream(options),
);
