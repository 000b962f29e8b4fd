// Which protobuf runtime for Envoy's messages: protobuf-es (@bufbuild/protobuf) or protobufjs, measured on the
// messages xdsd handles most: a Cluster (~1 kB, CDS fan-out) and a ClusterLoadAssignment of 100 endpoints (EDS).
// Run: npm run build && node dist/bench/protobuf-runtime.js
// Binary speed matters little once each resource is encoded once per version; JSON conformance (Any with
// "@type", durations as "0.25s") decides whether Envoy YAML parses as Envoy parses it.
import { join } from "node:path";
import { fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import protobuf from "protobufjs";
import { ClusterSchema } from "../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { envoyRegistry } from "../src/resource/proto-registry.js";
import { translateEndpoints } from "../src/config/translate.js";
import { repoRoot } from "../test/support/processes.js";

const clusterJson = {
  name: "bench_cluster",
  type: "EDS",
  connect_timeout: "0.25s",
  lb_policy: "LEAST_REQUEST",
  eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "bench_cluster" },
  circuit_breakers: { thresholds: [{ max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 }] },
  outlier_detection: { consecutive_5xx: 5, interval: "10s", base_ejection_time: "30s", max_ejection_percent: 50 },
  health_checks: [{ timeout: "1s", interval: "5s", unhealthy_threshold: 3, healthy_threshold: 2, http_health_check: { path: "/healthz" } }],
  common_lb_config: { healthy_panic_threshold: { value: 50 } },
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
    },
  },
};

function time(label: string, iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(iterations, 2000); i++) fn(); // warm up the JIT
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    runs.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  runs.sort((a, b) => a - b);
  const median = runs[2];
  console.log(`${label.padEnd(44)} ${(median / 1000).toFixed(2).padStart(8)} µs/op  (min ${(runs[0] / 1000).toFixed(2)}, max ${(runs[4] / 1000).toFixed(2)})`);
  return median;
}

async function main(): Promise<void> {
  const registry = envoyRegistry();
  const esCluster = fromJson(ClusterSchema, clusterJson, { registry });
  const esCla = translateEndpoints({ name: "bench_cluster", endpoints: Array.from({ length: 100 }, (_, i) => `10.0.${i >> 8}.${i & 255}:8080`) });
  const clusterBytes = toBinary(ClusterSchema, esCluster);
  const claBytes = toBinary(ClusterLoadAssignmentSchema, esCla);
  console.log(`Cluster ${clusterBytes.length} B, ClusterLoadAssignment(100 endpoints) ${claBytes.length} B, node ${process.version}\n`);

  // protobufjs, reflection-based, loaded from the same staged .proto files scripts/gen-protos.mjs compiles.
  const stage = join(repoRoot(), "build", "proto");
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith("google/protobuf/") ? join(repoRoot(), "node_modules", "protobufjs", target) : join(stage, target);
  await root.load(["envoy/config/cluster/v3/cluster.proto", "envoy/config/endpoint/v3/endpoint.proto"], { keepCase: true });
  const PjsCluster = root.lookupType("envoy.config.cluster.v3.Cluster");
  const PjsCla = root.lookupType("envoy.config.endpoint.v3.ClusterLoadAssignment");
  const pjsCluster = PjsCluster.decode(clusterBytes);
  const pjsCla = PjsCla.decode(claBytes);

  const r: Record<string, number> = {};
  r.esEncCluster = time("protobuf-es  encode Cluster", 20000, () => toBinary(ClusterSchema, esCluster));
  r.pjsEncCluster = time("protobufjs   encode Cluster", 20000, () => PjsCluster.encode(pjsCluster).finish());
  r.esDecCluster = time("protobuf-es  decode Cluster", 20000, () => fromBinary(ClusterSchema, clusterBytes));
  r.pjsDecCluster = time("protobufjs   decode Cluster", 20000, () => PjsCluster.decode(clusterBytes));
  r.esEncCla = time("protobuf-es  encode ClusterLoadAssignment", 5000, () => toBinary(ClusterLoadAssignmentSchema, esCla));
  r.pjsEncCla = time("protobufjs   encode ClusterLoadAssignment", 5000, () => PjsCla.encode(pjsCla).finish());
  r.esDecCla = time("protobuf-es  decode ClusterLoadAssignment", 5000, () => fromBinary(ClusterLoadAssignmentSchema, claBytes));
  r.pjsDecCla = time("protobufjs   decode ClusterLoadAssignment", 5000, () => PjsCla.decode(claBytes));

  console.log("\nJSON (Envoy's YAML form) → message:");
  time("protobuf-es  fromJson Cluster", 5000, () => fromJson(ClusterSchema, clusterJson, { registry }));
  try {
    const m = PjsCluster.fromObject(clusterJson);
    const back = fromBinary(ClusterSchema, PjsCluster.encode(m).finish());
    const same = toBinary(ClusterSchema, back).length === clusterBytes.length;
    console.log(
      `protobufjs   fromObject Cluster: connect_timeout=${JSON.stringify(back.connectTimeout)}, ` +
        `typed_extension_protocol_options kept=${Object.keys(back.typedExtensionProtocolOptions).length > 0 && back.typedExtensionProtocolOptions[Object.keys(back.typedExtensionProtocolOptions)[0]].value.length > 0}, ` +
        `same bytes as protobuf-es: ${same}`,
    );
  } catch (err) {
    console.log(`protobufjs   fromObject Cluster: throws: ${(err as Error).message}`);
  }
  console.log(
    `\nratios protobuf-es / protobufjs: encode Cluster ${(r.esEncCluster / r.pjsEncCluster).toFixed(2)}, decode Cluster ${(r.esDecCluster / r.pjsDecCluster).toFixed(2)}, ` +
      `encode CLA ${(r.esEncCla / r.pjsEncCla).toFixed(2)}, decode CLA ${(r.esDecCla / r.pjsDecCla).toFixed(2)}`,
  );
}

void main();
