// The state-of-the-world services: ADS (StreamAggregatedResources) and the Stream* method of every registered
// type's own discovery service, each driving a SotwStream. Requests are decoded by RequestDecoder, which shares the
// name lists that thousands of clients send alike.
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { RequestDecoder } from "../decoding/request-decoder.js";
import { SotwStream } from "./sotw-stream.js";
import { discoveryServices } from "./discovery-services.js";
import type { SotwResponse } from "./sotw-response.js";

export const sotwServices = discoveryServices<DiscoveryRequest, SotwResponse>(
  "sotw",
  (names) => {
    const decoder = new RequestDecoder(names);
    return (message) => decoder.decode(message);
  },
  (options) => new SotwStream(options),
);
