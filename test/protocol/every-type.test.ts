// Every registered type over every way it can be fetched, on the wire: its own SotW and delta gRPC service, its
// REST-JSON path, SotW ADS and delta ADS (whichever the type's discovery service defines, read from the protos as
// the server does). Each fetch must return exactly the snapshot's bytes of the resource asked for. The README's
// protocol-support table names this test for the types no Envoy scenario covers.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, type Message } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { ScopedRouteConfigurationSchema } from "../../src/gen/envoy/config/route/v3/scoped_route_pb.js";
import { VirtualHostSchema } from "../../src/gen/envoy/config/route/v3/route_components_pb.js";
import { SecretSchema } from "../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { RuntimeSchema } from "../../src/gen/envoy/service/runtime/v3/rtds_pb.js";
import { TypedExtensionConfigSchema } from "../../src/gen/envoy/config/core/v3/extension_pb.js";
import { RouterSchema } from "../../src/gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { AggregatedDiscoveryService } from "../../src/gen/envoy/service/discovery/v3/ads_pb.js";
import { discoveryMethods } from "../../src/resource/discovery-service.js";
import { resourceTypes } from "../../src/resource/types.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { RawDeltaClient, RawXdsClient } from "../support/xds-client.js";
import { poll } from "../support/rest-client.js";
import { edsCluster, endpoints, httpListener, node, routeTo } from "../support/resources.js";

const oneOfEach: Message[] = [
  edsCluster("c"),
  endpoints("c", "10.0.0.1:80"),
  httpListener("l", "r"),
  routeTo("r", "c"),
  create(ScopedRouteConfigurationSchema, { name: "sr", routeConfigurationName: "r", key: { fragments: [{ type: { case: "stringKey", value: "k" } }] } }),
  create(VirtualHostSchema, { name: "r/vh.local", domains: ["vh.local"] }),
  create(SecretSchema, { name: "s" }),
  create(RuntimeSchema, { name: "rt" }),
  create(TypedExtensionConfigSchema, { name: "ext", typedConfig: anyPack(RouterSchema, create(RouterSchema)) }),
];
const snapshot = Snapshot.from(oneOfEach);
const cache = new SnapshotCache();
cache.setDefaultSnapshot(snapshot);
const server = new XdsServer({ cache });
let address = "";
const ads = discoveryMethods(AggregatedDiscoveryService);

before(async () => {
  address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
});
after(() => server.close(200));

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("the snapshot has one resource of every registered type", () => {
  assert.deepEqual(snapshot.typeUrls().sort(), resourceTypes.map((t) => t.typeUrl).sort());
});

for (const type of resourceTypes) {
  const [resource] = snapshot.resources(type.typeUrl).values();
  const want = hex(resource.any.value);
  const methods = type.perTypeService ? discoveryMethods(type.perTypeService) : {};
  const ways: [string, () => Promise<string[]>][] = [];
  const sotw = (path: string, typeUrl: string) => async () => {
    const c = new RawXdsClient(address, path);
    try {
      c.send({ node: node(`${type.short}-sotw`), typeUrl, resourceNames: [resource.name] });
      return (await c.next()).resources.map((a) => hex(a.value));
    } finally {
      c.close();
    }
  };
  const delta = (path: string, typeUrl: string) => async () => {
    const c = new RawDeltaClient(address, path);
    try {
      c.send({ node: node(`${type.short}-delta`), typeUrl, resourceNamesSubscribe: [resource.name] });
      return (await c.next()).resources.map((r) => hex(r.resource!.value));
    } finally {
      c.close();
    }
  };
  if (methods.sotw) ways.push([`SotW ${methods.sotw}`, sotw(methods.sotw, "")]);
  if (methods.delta) ways.push([`delta ${methods.delta}`, delta(methods.delta, "")]);
  if (methods.rest) {
    const path = methods.rest;
    ways.push([
      `REST ${path}`,
      async () => {
        const r = await poll(address, path, { node: node(`${type.short}-rest`), resourceNames: [resource.name] });
        assert.equal(r.status, 200, r.text);
        return r.response!.resources.map((a) => hex(a.value));
      },
    ]);
  }
  ways.push([`SotW ADS`, sotw(ads.sotw!, type.typeUrl)], [`delta ADS`, delta(ads.delta!, type.typeUrl)]);
  test(`${type.short}: ${ways.map(([w]) => w.split(" ")[0] + (w.includes("ADS") ? " ADS" : "")).join(", ")} each return the snapshot's bytes`, async () => {
    for (const [way, fetch] of ways) assert.deepEqual(await fetch(), [want], `${type.short} over ${way}`);
  });
}
