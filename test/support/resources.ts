// Small builders of real Envoy resources for tests (protobuf-es messages from the generated types).
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, Cluster_DiscoveryType, type Cluster } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../src/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../src/gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../../src/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { RouterSchema } from "../../src/gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { ApiVersion } from "../../src/gen/envoy/config/core/v3/config_source_pb.js";
import { MetadataSchema, NodeSchema, type Node } from "../../src/gen/envoy/config/core/v3/base_pb.js";
import { VirtualHostSchema, type VirtualHost } from "../../src/gen/envoy/config/route/v3/route_components_pb.js";
import { Snapshot } from "../../src/cache/snapshot.js";

const adsSource = { configSourceSpecifier: { case: "ads" as const, value: {} }, resourceApiVersion: ApiVersion.V3 };

export function edsCluster(name: string): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    connectTimeout: { seconds: 1n },
    edsClusterConfig: { edsConfig: adsSource },
  });
}

export function endpoints(clusterName: string, ...addresses: string[]): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, {
    clusterName,
    endpoints: [
      {
        locality: {},
        loadBalancingWeight: 1,
        lbEndpoints: addresses.map((a) => {
          const [address, port] = a.split(":");
          return {
            hostIdentifier: {
              case: "endpoint" as const,
              value: {
                address: {
                  address: { case: "socketAddress" as const, value: { address, portSpecifier: { case: "portValue" as const, value: Number(port) } } },
                },
              },
            },
          };
        }),
      },
    ],
  });
}

export function httpListener(name: string, routeName: string, port = 10000): Listener {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: name,
    routeSpecifier: { case: "rds", value: { routeConfigName: routeName, configSource: adsSource } },
    httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  return create(ListenerSchema, {
    name,
    address: { address: { case: "socketAddress", value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: port } } } },
    filterChains: [
      {
        filters: [
          { name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, hcm) } },
        ],
      },
    ],
  });
}

export function routeTo(name: string, cluster: string, domain = "*"): RouteConfiguration {
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: [
      {
        name: `${name}_vh`,
        domains: [domain],
        routes: [
          {
            match: { pathSpecifier: { case: "prefix", value: "/" } },
            action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } },
          },
        ],
      },
    ],
  });
}

export function node(id: string, cluster = "test", userAgentName = ""): Node {
  return create(NodeSchema, { id, cluster, userAgentName });
}

/** Clusters "a" and "b" with one endpoint each: the snapshot most protocol tests start from. */
export function twoClusters(aAddress = "10.0.0.1:80"): Snapshot {
  return Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", aAddress), endpoints("b", "10.0.0.2:80")]);
}

/** An EDS cluster marked to be served on demand only (types.ts onDemandMetadataKey). */
export function onDemandCluster(name: string): Cluster {
  const cluster = edsCluster(name);
  cluster.metadata = create(MetadataSchema, { filterMetadata: { xdsd: { on_demand: true } } });
  return cluster;
}

/** A VirtualHost for VHDS, named `<route config>/<something>`, sending every path to `cluster`. */
export function virtualHost(name: string, domains: string[], cluster = "a"): VirtualHost {
  return create(VirtualHostSchema, {
    name,
    domains,
    routes: [
      { match: { pathSpecifier: { case: "prefix", value: "/" } }, action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster } } } },
    ],
  });
}
