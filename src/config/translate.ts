// The short form -> Envoy v3 messages. Input has passed the schema and the semantic checks, so nothing here
// validates. Every choice below is one that both a real Envoy 1.40 and grpc-js accept; docs/config.md says what
// each short-form entry becomes.
import { create, fromJson, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ApiConfigSource_ApiType,
  ApiVersion,
  ConfigSourceSchema,
  type ConfigSource as EnvoyConfigSource,
} from "../gen/envoy/config/core/v3/config_source_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import {
  EndpointSchema,
  LbEndpointSchema,
  LocalityLbEndpointsSchema,
  type LocalityLbEndpoints,
} from "../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { AddressSchema, type Address } from "../gen/envoy/config/core/v3/address_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import type { RouteSchema } from "../gen/envoy/config/route/v3/route_components_pb.js";
import { RouterSchema } from "../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpProtocolOptionsSchema } from "../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { parseHostPort } from "./address.js";
import {
  defaultConnectTimeout,
  defaultListenerAddress,
  routeConfigNameOf,
  xdsClusterName,
  type ClusterConfig,
  type ConfigSourceKind,
  type EndpointConfig,
  type ListenerConfig,
  type LocalityConfig,
  type RouteConfig,
  type VirtualHostConfig,
} from "./model.js";

export const httpConnectionManagerFilter = "envoy.filters.network.http_connection_manager";
export const routerFilter = "envoy.filters.http.router";
export const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** `{ads: {}, resource_api_version: V3}`: the resource comes over the same ADS stream as its parent. */
export function adsConfigSource(): EnvoyConfigSource {
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ApiVersion.V3 });
}

/**
 * Where a client fetches what a resource refers to (a cluster's endpoints, a listener's routes): the ADS stream, a
 * stream of its own per type to xdsd through the bootstrap's `xds_cluster` (state of the world or incremental), or
 * REST-JSON polls of xdsd through that cluster. Envoy has no "same server, any stream" source for these (`self` is
 * not implemented for them), so the choice is written into the resources, per node group.
 */
export function configSourceFor(kind: ConfigSourceKind = "ads"): EnvoyConfigSource {
  if (kind === "ads") return adsConfigSource();
  const api =
    kind === "rest"
      ? {
          apiType: ApiConfigSource_ApiType.REST,
          transportApiVersion: ApiVersion.V3,
          clusterNames: [xdsClusterName],
          refreshDelay: duration(restRefreshDelay),
          requestTimeout: duration("1s"),
        }
      : {
          apiType: kind === "grpc" ? ApiConfigSource_ApiType.GRPC : ApiConfigSource_ApiType.DELTA_GRPC,
          transportApiVersion: ApiVersion.V3,
          grpcServices: [{ targetSpecifier: { case: "envoyGrpc" as const, value: { clusterName: xdsClusterName } } }],
        };
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "apiConfigSource", value: api }, resourceApiVersion: ApiVersion.V3 });
}

/**
 * How often a REST client polls (ApiConfigSource.refresh_delay, required for REST): a change reaches a polling
 * Envoy within this, plus the poll's own time.
 */
export const restRefreshDelay = "1s";

export function duration(text: string): Duration {
  return fromJson(DurationSchema, text);
}

/** A socket address, the one shape used for listeners, endpoints and the xDS server alike. */
export function socketAddress(address: string, port: number): Address {
  return create(AddressSchema, { address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: port } } } });
}

/** HttpProtocolOptions forcing HTTP/2 upstream, keyed as Envoy expects under typed_extension_protocol_options. */
export function http2ProtocolOptions(): Cluster["typedExtensionProtocolOptions"] {
  const options = create(HttpProtocolOptionsSchema, {
    upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } } },
  });
  return { [httpProtocolOptionsKey]: anyPack(HttpProtocolOptionsSchema, options) };
}

export function translateCluster(config: ClusterConfig, source: ConfigSourceKind = "ads"): { cluster: Cluster; endpoints: ClusterLoadAssignment } {
  const cluster = create(ClusterSchema, {
    name: config.name,
    connectTimeout: duration(config.connect_timeout ?? defaultConnectTimeout),
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: configSourceFor(source) },
    lbPolicy: Cluster_LbPolicy[config.lb_policy ?? "ROUND_ROBIN"],
    typedExtensionProtocolOptions: config.http2 ? http2ProtocolOptions() : {},
  });
  return { cluster, endpoints: translateEndpoints(config) };
}

// One LocalityLbEndpoints per (locality, priority), in order of first appearance within each priority. Each gets
// an explicit locality and load_balancing_weight: grpc-js silently skips localities without a weight (gRFC A27).
export function translateEndpoints(config: ClusterConfig): ClusterLoadAssignment {
  const groups = new Map<string, LocalityLbEndpoints>();
  for (const endpoint of config.endpoints) {
    const { address, port, weight, locality, priority } = normalizeEndpoint(endpoint, config.locality);
    const key = JSON.stringify([priority, locality.region ?? "", locality.zone ?? "", locality.sub_zone ?? ""]);
    let group = groups.get(key);
    if (!group) {
      group = create(LocalityLbEndpointsSchema, {
        locality: { region: locality.region, zone: locality.zone, subZone: locality.sub_zone },
        loadBalancingWeight: 1,
        priority,
      });
      groups.set(key, group);
    }
    group.lbEndpoints.push(
      create(LbEndpointSchema, {
        hostIdentifier: { case: "endpoint", value: create(EndpointSchema, { address: socketAddress(address, port) }) },
        loadBalancingWeight: weight,
      }),
    );
  }
  return create(ClusterLoadAssignmentSchema, {
    clusterName: config.name,
    endpoints: [...groups.values()].sort((a, b) => a.priority - b.priority),
  });
}

interface NormalizedEndpoint {
  address: string;
  port: number;
  weight: number;
  locality: LocalityConfig;
  priority: number;
}

function normalizeEndpoint(endpoint: EndpointConfig, clusterLocality: LocalityConfig | undefined): NormalizedEndpoint {
  if (typeof endpoint === "string") {
    const parsed = parseHostPort(endpoint);
    if ("error" in parsed) throw new Error(`unchecked endpoint: ${parsed.error}`);
    return { ...parsed, weight: 1, locality: clusterLocality ?? {}, priority: 0 };
  }
  return {
    address: endpoint.address,
    port: endpoint.port,
    weight: endpoint.weight ?? 1,
    locality: endpoint.locality ?? clusterLocality ?? {},
    priority: endpoint.priority ?? 0,
  };
}

export function translateListener(config: ListenerConfig, source: ConfigSourceKind = "ads"): { listener: Listener; routes: RouteConfiguration } {
  const hcm = httpConnectionManager(config.name, routeConfigNameOf(config), source);
  const typedHcm = anyPack(HttpConnectionManagerSchema, hcm);
  const listener = config.grpc
    ? create(ListenerSchema, { name: config.name, apiListener: { apiListener: typedHcm } })
    : create(ListenerSchema, {
        name: config.name,
        address: socketAddress(config.address ?? defaultListenerAddress, config.port ?? 0),
        filterChains: [{ filters: [{ name: httpConnectionManagerFilter, configType: { case: "typedConfig", value: typedHcm } }] }],
      });
  return { listener, routes: translateRoutes(routeConfigNameOf(config), config.virtual_hosts) };
}

function httpConnectionManager(statPrefix: string, routeConfigName: string, source: ConfigSourceKind): HttpConnectionManager {
  return create(HttpConnectionManagerSchema, {
    statPrefix,
    routeSpecifier: { case: "rds", value: { routeConfigName, configSource: configSourceFor(source) } },
    // Envoy 1.39+ finds filters by typed_config type URL only, so the router must carry one; gRPC requires it last.
    httpFilters: [{ name: routerFilter, configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
}

export function translateRoutes(name: string, virtualHosts: VirtualHostConfig[]): RouteConfiguration {
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: virtualHosts.map((vhost) => ({ name: vhost.name, domains: vhost.domains, routes: vhost.routes.map(translateRoute) })),
  });
}

function translateRoute(route: RouteConfig): MessageInitShape<typeof RouteSchema> {
  const match: MessageInitShape<typeof RouteSchema>["match"] =
    route.prefix !== undefined
      ? { pathSpecifier: { case: "prefix", value: route.prefix } }
      : route.path !== undefined
        ? { pathSpecifier: { case: "path", value: route.path } }
        : { pathSpecifier: { case: "safeRegex", value: { regex: route.regex ?? "" } } };
  const clusterSpecifier =
    route.cluster !== undefined
      ? { case: "cluster" as const, value: route.cluster }
      : {
          case: "weightedClusters" as const,
          value: { clusters: (route.weighted_clusters ?? []).map((wc) => ({ name: wc.name, weight: wc.weight })) },
        };
  return {
    match,
    action: { case: "route", value: { clusterSpecifier, timeout: route.timeout !== undefined ? duration(route.timeout) : undefined } },
  };
}
