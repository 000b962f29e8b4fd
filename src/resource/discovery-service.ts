// What a per-type discovery service offers, read from its proto descriptor rather than written down: Envoy's
// `*DiscoveryService` definitions have a bidirectional state-of-the-world method (`Stream*`), an incremental one
// (`Delta*`, input DeltaDiscoveryRequest) and a unary `Fetch*` whose `google.api.http` option is the REST-JSON path
// (`post: "/v3/discovery:clusters"`, body `*`). VirtualHostDiscoveryService has only the incremental method.
import { getOption, type DescService } from "@bufbuild/protobuf";
import { http } from "../gen/google/api/annotations_pb.js";

export interface DiscoveryMethods {
  /** gRPC path of the state-of-the-world method, `/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`. */
  readonly sotw?: string;
  /** gRPC path of the incremental method. */
  readonly delta?: string;
  /** HTTP path of the REST-JSON polling method, `/v3/discovery:clusters`. */
  readonly rest?: string;
}

export function discoveryMethods(service: DescService): DiscoveryMethods {
  const out: { sotw?: string; delta?: string; rest?: string } = {};
  for (const method of service.methods) {
    const grpcPath = `/${service.typeName}/${method.name}`;
    if (method.methodKind === "bidi_streaming") {
      if (method.input.typeName === "envoy.service.discovery.v3.DeltaDiscoveryRequest") out.delta = grpcPath;
      else out.sotw = grpcPath;
    } else if (method.methodKind === "unary") {
      const rule = getOption(method, http);
      if (rule.pattern.case === "post") out.rest = rule.pattern.value;
    }
  }
  return out;
}
