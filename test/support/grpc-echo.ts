// A gRPC echo server (grpc-js) that answers its own name: the backends the proxyless client tests (grpc-js-xds,
// grpcio) balance between. Raw bytes, no protobuf: the request is empty, the answer is the name.
import * as grpc from "@grpc/grpc-js";

export const echoMethod = "/xdsd.test.Echo/WhoAreYou";
export const identity = (b: Buffer) => b;
export const echoService: grpc.ServiceDefinition = {
  WhoAreYou: {
    path: echoMethod,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export interface EchoServer {
  name: string;
  port: number;
  stop(): void;
}

/** An echo server on 127.0.0.1, on a port of its own choosing. */
export async function startEcho(name: string): Promise<EchoServer> {
  const server = new grpc.Server();
  server.addService(echoService, { WhoAreYou: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { name, port, stop: () => server.forceShutdown() };
}

/** A backend whose every call fails with FAILED_PRECONDITION (not retried by gRPC, and an error to LRS). */
export async function startFailing(): Promise<{ port: number; stop(): void }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    WhoAreYou: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.FAILED_PRECONDITION, details: "failing on purpose" }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, stop: () => server.forceShutdown() };
}

/**
 * A config serving the gRPC target echo.test:50051: over cluster echo_cluster (the backends on `ports`), or split
 * between clusters echo_a (ports[0]) and echo_b (ports[1]) by the route's `split` weights. `rawCluster` replaces the
 * shorthand clusters with Envoy YAML, which reaches the client without xdsd's gRPC checks. `zones` puts the i-th
 * backend in zone zones[i]; `loadReporting` has the clients report their load to xdsd (LRS).
 */
export function echoConfigText(opts: {
  ports: number[];
  split?: [number, number];
  zoneWeights?: number[];
  zones?: string[];
  loadReporting?: boolean;
  rawCluster?: string;
}): string {
  const { ports, split, zoneWeights, zones, loadReporting, rawCluster } = opts;
  // With zoneWeights, each endpoint of echo_cluster has that weight and a locality of its own: the first keeps the
  // default one ({}), the others are in zone "z<i>". The default locality stays: grpc-js-xds 1.14's priority
  // balancer starts a 15-minute timer for a child whose localities all left the config, and its destroy() does not
  // clear it, so a test that replaced every locality would keep its process alive for 15 minutes after its end.
  const endpoint = (p: number, i: number) =>
    zones
      ? `{address: 127.0.0.1, port: ${p}, locality: {zone: ${zones[i]}}}`
      : zoneWeights
        ? `{address: 127.0.0.1, port: ${p}, weight: ${zoneWeights[i]}${i > 0 ? `, locality: {zone: z${i}}` : ""}}`
        : `"127.0.0.1:${p}"`;
  const cluster = (name: string, ps: number[]) =>
    `  - {name: ${name}${loadReporting ? ", load_reporting: true" : ""}, endpoints: [${ps.map(endpoint).join(", ")}]}\n`;
  const clusters = rawCluster
    ? `resources:\n${rawCluster}\n`
    : `clusters:\n${cluster("echo_cluster", ports)}${split ? cluster("echo_a", [ports[0]]) + cluster("echo_b", [ports[1]]) : ""}`;
  const action = split ? `weighted_clusters: [{name: echo_a, weight: ${split[0]}}, {name: echo_b, weight: ${split[1]}}]` : "cluster: echo_cluster";
  return `${clusters}listeners:
  - name: echo.test:50051
    grpc: true
    virtual_hosts: [{name: echo, domains: ["*"], routes: [{prefix: "", ${action}}]}]
`;
}

/**
 * Raw resources for echo_cluster (endpoint 127.0.0.1:port) that gRPC clients reject and xdsd's checks let through:
 * gRPC reports load only to the server it gets its config from, so lrs_server must be {self: {}} (gRFC A27).
 */
export function clusterWithForeignLrs(port: number): string {
  const lbEndpoints = `{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}}}`;
  return `  - {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: echo_cluster, type: EDS, lrs_server: {ads: {}}, eds_cluster_config: {eds_config: {ads: {}, resource_api_version: V3}}}
  - {"@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment, cluster_name: echo_cluster, endpoints: [{locality: {}, load_balancing_weight: 1, lb_endpoints: [${lbEndpoints}]}]}`;
}

/** Within how many calls of `n` × `share` a random split by weight lands, at 3.4 standard deviations or more: the
 *  ±10 % of the expected count that issue 21 asks for, when n ≥ 200 and share ≥ 1/4. */
export function withinTenPercent(count: number, n: number, share: number): boolean {
  return Math.abs(count - n * share) <= 0.1 * n * share;
}
