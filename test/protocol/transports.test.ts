// The two transports: XdsServer's own gRPC layer on node:http2, and the grpc-js services for embedding.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { addXdsServices } from "../../src/server/transport/grpc-js-transport.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { RawXdsClient } from "../support/xds-client.js";
import { sotwServices } from "../../src/server/protocol/sotw-service.js";
import type { XdsService } from "../../src/server/service-table.js";
import { edsCluster, endpoints, node } from "../support/resources.js";

const cache = new SnapshotCache();
cache.setDefaultSnapshot(Snapshot.from([edsCluster("a"), endpoints("a", "10.0.0.1:80")]));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function xdsServer(options: { maxRequestBytes?: number; services?: readonly XdsService[] } = {}): Promise<string> {
  const server = new XdsServer({ cache, ...options });
  const port = await server.listen("127.0.0.1:0");
  cleanups.push(() => server.close(200));
  return `127.0.0.1:${port}`;
}

function client(address: string, method?: string): RawXdsClient {
  const c = new RawXdsClient(address, method);
  cleanups.push(() => c.close());
  return c;
}

test("an unknown method gets UNIMPLEMENTED", async () => {
  const c = client(await xdsServer(), "/envoy.service.discovery.v3.AggregatedDiscoveryService/NoSuchMethod");
  c.send({ node: node("t1"), typeUrl: TypeUrl.Cluster });
  const status = await c.status;
  assert.equal(status.code, grpc.status.UNIMPLEMENTED);
});

test("the service table decides what is served: a server of SotW services only does not answer delta", async () => {
  const address = await xdsServer({ services: sotwServices });
  const delta = client(address, "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources");
  delta.send({ node: node("t1b"), typeUrl: TypeUrl.Cluster });
  assert.equal((await delta.status).code, grpc.status.UNIMPLEMENTED);
  const sotw = client(address);
  sotw.send({ node: node("t1c"), typeUrl: TypeUrl.Cluster });
  assert.equal((await sotw.next()).typeUrl, TypeUrl.Cluster);
});

test("a request over the size limit gets RESOURCE_EXHAUSTED", async () => {
  const c = client(await xdsServer({ maxRequestBytes: 200 }));
  c.send({ node: node("t2"), typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: Array.from({ length: 50 }, (_, i) => `cluster-${i}`) });
  const status = await c.status;
  assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match(status.details, /exceeds the limit of 200/);
});

test("a client that half-closes its stream gets OK", async () => {
  const c = client(await xdsServer());
  c.send({ node: node("t3"), typeUrl: TypeUrl.Cluster });
  await c.next();
  c.close();
  assert.equal((await c.status).code, grpc.status.OK);
});

test("addXdsServices serves the same protocol from a grpc-js server of your own", async () => {
  const server = new grpc.Server();
  const calls = addXdsServices(server, { cache });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  for (const method of [undefined, "/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints"]) {
    const c = client(`127.0.0.1:${port}`, method);
    c.send({ node: node("t4"), typeUrl: method ? "" : TypeUrl.ClusterLoadAssignment, resourceNames: ["a"] });
    const r = await c.next();
    assert.equal(r.typeUrl, TypeUrl.ClusterLoadAssignment);
    assert.equal(r.resources.length, 1);
  }
  assert.equal(calls.streams().length, 2);
  calls.closeAll(grpc.status.UNAVAILABLE, "bye", "test over");
  assert.equal(calls.streams().length, 0);
});
