// Deterministic fixtures for the scenarios of harness/scenarios.ts, in the format of bench/README.md: real Envoy v3
// messages built with the generated protobuf-es types (clusters from proto3 JSON as an operator would write them,
// endpoints, listeners and routes through the library's own translators), encoded once, base64 in JSON.
//
// Rules every fixture follows, and why:
// - No proto map fields anywhere (no metadata, no typed_extension_protocol_options): map entry order is not fixed
//   by the wire format, and the servers must serve byte-identical resources — Go's deterministic marshal and
//   protobuf-es agree on field order (by number) but not necessarily on map order.
// - Every resource round-trips through protobuf-es byte for byte (checked here): a server that decodes the
//   fixture and re-encodes must reproduce it.
// - Every change produces content never seen before for that name (the changed endpoint's address encodes the
//   step number), so "which step's version does the client hold" has one answer.
// - Every cluster is EDS over ADS with no service_name: its ClusterLoadAssignment has the cluster's name.
//
// To write one to a file: node dist/bench/write-fixture.js --scenario A [--steps N] --out FILE
import { fromBinary, fromJson, toBinary, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import { ClusterSchema, type Cluster } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { translateEndpoints, translateListener } from "../../src/config/translate.js";
import type { EndpointObject, VirtualHostConfig } from "../../src/config/model.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import type { Fixture, FixtureResource, FixtureStep } from "./lib/fixture-file.js";
import { scenarios, type ScenarioId } from "./scenarios.js";

export interface FixtureParams {
  clusters: number;
  endpointsPerCluster: number;
  listeners: number;
  /** Number of update steps after step 0. */
  steps: number;
  /** What each step changes. */
  change: "endpoint" | "cluster" | "none";
}

const zones = ["zone-a", "zone-b", "zone-c"];

export function clusterName(c: number): string {
  return `cluster-${String(c).padStart(4, "0")}`;
}

/**
 * A cluster the way a mesh control plane writes one (~1 kB encoded, as measured in Istio, issue istio#36763):
 * EDS over ADS, TLS with SPIFFE SAN matching, circuit breakers with a retry budget, outlier detection, an HTTP
 * health check. `revision` changes one circuit-breaker threshold, which is how scenario C changes a cluster.
 */
export function realisticCluster(c: number, revision = 0): Cluster {
  const name = clusterName(c);
  const host = `${name}.bench.svc.cluster.local`;
  const json = {
    name,
    altStatName: `outbound|8080||${host}`,
    type: "EDS",
    edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: "V3" } },
    connectTimeout: "1s",
    lbPolicy: "LEAST_REQUEST",
    leastRequestLbConfig: { choiceCount: 2 },
    perConnectionBufferLimitBytes: 32768,
    circuitBreakers: {
      thresholds: [
        {
          priority: "DEFAULT",
          maxConnections: 4294967295,
          maxPendingRequests: 4294967295,
          maxRequests: 1024 + revision,
          maxRetries: 3,
          retryBudget: { budgetPercent: { value: 20 }, minRetryConcurrency: 3 },
          trackRemaining: true,
        },
        { priority: "HIGH", maxConnections: 2048, maxPendingRequests: 2048, maxRequests: 2048, maxRetries: 5, trackRemaining: true },
      ],
    },
    outlierDetection: {
      consecutive5xx: 5,
      interval: "10s",
      baseEjectionTime: "30s",
      maxEjectionPercent: 50,
      enforcingConsecutive5xx: 100,
      enforcingSuccessRate: 100,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
      successRateStdevFactor: 1900,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 100,
      consecutiveLocalOriginFailure: 5,
      maxEjectionTime: "300s",
    },
    healthChecks: [
      {
        timeout: "1s",
        interval: "5s",
        intervalJitter: "1s",
        unhealthyThreshold: 3,
        healthyThreshold: 2,
        noTrafficInterval: "60s",
        httpHealthCheck: {
          host,
          path: "/healthz",
          codecClientType: "HTTP2",
          requestHeadersToAdd: [{ header: { key: "x-envoy-health-check", value: "bench" }, appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" }],
          expectedStatuses: [{ start: "200", end: "300" }],
        },
      },
    ],
    commonLbConfig: { healthyPanicThreshold: { value: 50 }, localityWeightedLbConfig: {} },
    upstreamConnectionOptions: { tcpKeepalive: { keepaliveProbes: 3, keepaliveTime: 300, keepaliveInterval: 30 } },
    transportSocket: {
      name: "envoy.transport_sockets.tls",
      typedConfig: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        sni: host,
        commonTlsContext: {
          tlsParams: {
            tlsMinimumProtocolVersion: "TLSv1_2",
            cipherSuites: [
              "ECDHE-ECDSA-AES256-GCM-SHA384",
              "ECDHE-RSA-AES256-GCM-SHA384",
              "ECDHE-ECDSA-AES128-GCM-SHA256",
              "ECDHE-RSA-AES128-GCM-SHA256",
              "ECDHE-ECDSA-CHACHA20-POLY1305",
              "ECDHE-RSA-CHACHA20-POLY1305",
            ],
            ecdhCurves: ["X25519", "P-256"],
          },
          alpnProtocols: ["h2", "http/1.1"],
          tlsCertificates: [{ certificateChain: { filename: "/etc/certs/cert-chain.pem" }, privateKey: { filename: "/etc/certs/key.pem" } }],
          validationContext: {
            trustedCa: { filename: "/etc/certs/root-cert.pem" },
            matchTypedSubjectAltNames: [
              { sanType: "URI", matcher: { exact: `spiffe://cluster.local/ns/bench/sa/${name}` } },
              { sanType: "DNS", matcher: { exact: host } },
              { sanType: "DNS", matcher: { suffix: ".bench.svc.cluster.local" } },
            ],
          },
        },
      },
    },
    ignoreHealthOnHostRemoval: true,
    trackClusterStats: { timeoutBudgets: true, requestResponseSizes: true },
  };
  return fromJson(ClusterSchema, json as unknown as JsonValue, { registry: envoyRegistry() });
}

function initialEndpoints(c: number, count: number): EndpointObject[] {
  const out: EndpointObject[] = [];
  for (let e = 0; e < count; e++) {
    // Unique per (cluster, endpoint) for up to 65,536 clusters × 65,536 endpoints.
    out.push({ address: `10.${(c >> 8) & 127}.${c & 255}.${e & 255}`, port: 8080 + (e >> 8), locality: { region: "bench", zone: zones[e % zones.length] } });
  }
  return out;
}

function endpointsOf(name: string, endpoints: EndpointObject[]): ClusterLoadAssignment {
  return translateEndpoints({ name, endpoints });
}

function listenerVirtualHosts(l: number, clusters: number, listeners: number): VirtualHostConfig[] {
  const per = Math.ceil(clusters / listeners);
  const out: VirtualHostConfig[] = [];
  for (let c = l * per; c < Math.min(clusters, (l + 1) * per); c++) {
    const name = clusterName(c);
    out.push({
      name: `vh-${name}`,
      domains: [`${name}.bench.svc.cluster.local`, `${name}.bench.svc.cluster.local:80`, name],
      routes: [
        { prefix: "/api/", cluster: name, timeout: "15s" },
        { prefix: "/", cluster: name },
      ],
    });
  }
  return out;
}

function resource(typeUrl: string, name: string, schema: DescMessage, message: Message): FixtureResource {
  const value = Buffer.from(toBinary(schema, message));
  // The servers decode and re-encode: the bytes must survive that unchanged (no maps, no unknown fields).
  const again = toBinary(schema, fromBinary(schema, value));
  if (!value.equals(again)) throw new Error(`fixture resource ${name} does not round-trip through protobuf-es`);
  return { typeUrl, name, value };
}

export function generateFixture(scenario: string, p: FixtureParams): Fixture {
  const step0: FixtureStep = { upserts: [], removes: [] };
  const endpoints: EndpointObject[][] = [];
  for (let c = 0; c < p.clusters; c++) {
    const name = clusterName(c);
    step0.upserts.push(resource(TypeUrl.Cluster, name, ClusterSchema, realisticCluster(c)));
    endpoints.push(initialEndpoints(c, p.endpointsPerCluster));
    step0.upserts.push(resource(TypeUrl.ClusterLoadAssignment, name, ClusterLoadAssignmentSchema, endpointsOf(name, endpoints[c])));
  }
  for (let l = 0; l < p.listeners; l++) {
    const { listener, routes } = translateListener({
      name: `listener-${l}`,
      address: "0.0.0.0",
      port: 10000 + l,
      virtual_hosts: listenerVirtualHosts(l, p.clusters, p.listeners),
    });
    step0.upserts.push(resource(TypeUrl.Listener, listener.name, ListenerSchema, listener));
    if (routes) step0.upserts.push(resource(TypeUrl.RouteConfiguration, routes.name, RouteConfigurationSchema, routes));
  }
  const steps = [step0];
  for (let k = 1; k <= p.steps && p.change !== "none"; k++) {
    // 37 is coprime with any cluster count not divisible by 37: consecutive steps touch clusters far apart, and a
    // cluster changes again only after `clusters` steps (50 s in scenario A), long after the previous change
    // converged.
    const c = ((k - 1) * 37) % p.clusters;
    const name = clusterName(c);
    if (p.change === "cluster") {
      steps.push({ upserts: [resource(TypeUrl.Cluster, name, ClusterSchema, realisticCluster(c, k))], removes: [] });
      continue;
    }
    const e = (k * 7919) % p.endpointsPerCluster; // 7919 is prime: spreads changes over the endpoint list
    const old = endpoints[c][e];
    endpoints[c][e] = { ...old, address: `10.${128 + ((k >> 16) & 127)}.${(k >> 8) & 255}.${k & 255}`, port: 9000 + (c % 1000) };
    steps.push({ upserts: [resource(TypeUrl.ClusterLoadAssignment, name, ClusterLoadAssignmentSchema, endpointsOf(name, endpoints[c]))], removes: [] });
  }
  return { scenario, steps };
}

export function fixtureFor(id: ScenarioId, overrides: { steps?: number; clusters?: number } = {}): Fixture {
  const s = scenarios[id];
  return generateFixture(id, { ...s.fixture, steps: overrides.steps ?? s.fixture.steps, clusters: overrides.clusters ?? s.fixture.clusters });
}

/** Total encoded bytes per type in a step (for the report and for sizing checks). */
export function sizes(step: FixtureStep): Record<string, { count: number; bytes: number }> {
  const out: Record<string, { count: number; bytes: number }> = {};
  for (const u of step.upserts) {
    const short = u.typeUrl.slice(u.typeUrl.lastIndexOf(".") + 1);
    const e = (out[short] ??= { count: 0, bytes: 0 });
    e.count++;
    e.bytes += u.value.length;
  }
  return out;
}
