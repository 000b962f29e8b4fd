// The short form -> Envoy v3 messages. Input has passed the schema and the semantic checks, so nothing here
// validates. Every choice below is one that both a real Envoy 1.40 and grpc-js accept; docs/config.md says what
// each short-form entry becomes.
import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ApiConfigSource_ApiType,
  ApiConfigSourceSchema,
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
import { MetadataSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import { HealthStatus } from "../gen/envoy/config/core/v3/health_check_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, VhdsSchema, type RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { type RouteSchema, VirtualHostSchema, type VirtualHost } from "../gen/envoy/config/route/v3/route_components_pb.js";
import { OnDemandSchema } from "../gen/envoy/extensions/filters/http/on_demand/v3/on_demand_pb.js";
import { RouterSchema } from "../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { onDemandMetadataKey } from "../resource/types.js";
import {
  HttpConnectionManagerSchema,
  RdsSchema,
  type HttpConnectionManager,
  type HttpFilter,
} from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpProtocolOptionsSchema } from "../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { canonicalIp, parseHostPort } from "./address.js";
import { translateHttpFilters } from "./extension-configs.js";
import { scopedRoutesOf } from "./scoped-routes.js";
import { downstreamTlsSocket, upstreamTlsSocket } from "./secrets.js";
import {
  defaultConnectTimeout,
  defaultListenerAddress,
  localityGroupKey,
  routeConfigNameOf,
  xdsClusterName,
  type ClusterConfig,
  type ConfigSourceKind,
  type EndpointConfig,
  type EndpointObject,
  type ListenerConfig,
  type LocalityConfig,
  type RouteConfig,
  type VirtualHostConfig,
} from "./model.js";

export const httpConnectionManagerFilter = "envoy.filters.network.http_connection_manager";
export const routerFilter = "envoy.filters.http.router";
export const onDemandFilter = "envoy.filters.http.on_demand";
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
      : grpcApiConfigSource(kind === "grpc" ? ApiConfigSource_ApiType.GRPC : ApiConfigSource_ApiType.DELTA_GRPC);
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "apiConfigSource", value: api }, resourceApiVersion: ApiVersion.V3 });
}

/**
 * How soon Envoy opens an xDS stream again after it broke (EnvoyGrpc.retry_policy.retry_back_off; Envoy's default
 * is 500 ms growing to 30 s): with several xdsd replicas in xds_cluster (issue 20), a stream whose replica died is
 * opened again on another one within about this base, and never waits more than the max while all are down.
 */
export const xdsStreamRetryBackOff = { base: "0.1s", max: "1s" } as const;

/** A gRPC stream to xdsd through the bootstrap's xds_cluster, of the given protocol, retried quickly. */
export function grpcApiConfigSource(apiType: ApiConfigSource_ApiType.GRPC | ApiConfigSource_ApiType.DELTA_GRPC) {
  return create(ApiConfigSourceSchema, {
    apiType,
    transportApiVersion: ApiVersion.V3,
    grpcServices: [
      {
        targetSpecifier: {
          case: "envoyGrpc",
          value: {
            clusterName: xdsClusterName,
            retryPolicy: { retryBackOff: { baseInterval: duration(xdsStreamRetryBackOff.base), maxInterval: duration(xdsStreamRetryBackOff.max) } },
          },
        },
      },
    ],
  });
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
    // Left out of a delta wildcard: Envoy fetches it by name when a route first needs it (types.ts).
    metadata: config.on_demand ? { filterMetadata: { [onDemandMetadataKey.namespace]: { [onDemandMetadataKey.field]: true } } } : undefined,
    // gRFC A27: a gRPC client reports the cluster's load to the LRS server this names; `self` is the server it
    // fetched the cluster from (server/protocol/lrs-service.ts).
    lrsServer: config.load_reporting ? { configSourceSpecifier: { case: "self", value: {} } } : undefined,
    transportSocket: config.tls ? upstreamTlsSocket(config.tls, configSourceFor(source)) : undefined,
  });
  return { cluster, endpoints: translateEndpoints(config) };
}

// One LocalityLbEndpoints per (locality, priority), in order of first appearance within each priority. Each gets
// an explicit locality and load_balancing_weight: grpc-js silently skips localities without a weight (gRFC A27).
// The weight is what the locality's endpoints weigh together: gRPC clients split traffic between localities by
// locality weight, and their round_robin ignores endpoint weights, so this is how endpoint weights reach them
// (a weight of 1 each would give every locality the same share, however many endpoints it holds). Envoy uses
// locality weights only with locality_weighted_lb_config, which these clusters do not set. validate.ts keeps the
// sum within a uint32 (localityWeightLimit).
export function translateEndpoints(config: ClusterConfig): ClusterLoadAssignment {
  const groups = new Map<string, LocalityLbEndpoints>();
  for (const endpoint of config.endpoints) {
    const { address, port, weight, locality, priority } = normalizeEndpoint(endpoint, config.locality);
    const extra: Partial<EndpointObject> = typeof endpoint === "string" ? {} : endpoint;
    const key = localityGroupKey(priority, locality);
    let group = groups.get(key);
    if (!group) {
      group = create(LocalityLbEndpointsSchema, {
        locality: { region: locality.region, zone: locality.zone, subZone: locality.sub_zone },
        loadBalancingWeight: 0,
        priority,
      });
      groups.set(key, group);
    }
    group.loadBalancingWeight = (group.loadBalancingWeight ?? 0) + weight;
    group.lbEndpoints.push(
      create(LbEndpointSchema, {
        hostIdentifier: { case: "endpoint", value: create(EndpointSchema, { address: socketAddress(address, port) }) },
        loadBalancingWeight: weight,
        healthStatus: extra.health_status ? (HealthStatus[extra.health_status] as HealthStatus) : HealthStatus.UNKNOWN,
        metadata: extra.metadata ? fromJson(MetadataSchema, { filter_metadata: extra.metadata } as JsonValue) : undefined,
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
    // Served as spelled canonically (address.ts), as a string endpoint is.
    address: canonicalIp(endpoint.address) ?? endpoint.address,
    port: endpoint.port,
    weight: endpoint.weight ?? 1,
    locality: endpoint.locality ?? clusterLocality ?? {},
    priority: endpoint.priority ?? 0,
  };
}

export interface TranslateListenerOptions {
  /**
   * Its routes send traffic to clusters served on demand: the HTTP connection manager gets the on_demand filter
   * with on-demand CDS over ADS, so that Envoy fetches such a cluster the first time a route needs it.
   */
  odcds?: boolean;
  /** Name → config type URL of the group's extension configs, for its filters fetched over ECDS (extensionConfigTypes). */
  extensionConfigTypes?: ReadonlyMap<string, string>;
}

/**
 * A short-form listener: its Listener, its RouteConfiguration, and its on-demand virtual hosts (`on_demand: true`)
 * as VirtualHost resources named `<route configuration>/<virtual host name>`, which the route configuration gets
 * over VHDS (`vhds: {config_source: ads}`) instead of inline, when a request's Host needs one. A listener routing
 * by scope (`scope_header`) has no RouteConfiguration of its own: its scopes name theirs (scoped-routes.ts).
 */
export function translateListener(
  config: ListenerConfig,
  source: ConfigSourceKind = "ads",
  options: TranslateListenerOptions = {},
): { listener: Listener; routes?: RouteConfiguration; virtualHosts: VirtualHost[] } {
  const routeConfigName = routeConfigNameOf(config);
  const vhosts = config.virtual_hosts ?? [];
  const onDemand = vhosts.filter((v) => v.on_demand);
  const fetched = configSourceFor(source);
  const routing: HttpConnectionManager["routeSpecifier"] =
    routeConfigName === undefined
      ? { case: "scopedRoutes", value: scopedRoutesOf(config.name, config.scope_header!, fetched) }
      : { case: "rds", value: create(RdsSchema, { routeConfigName, configSource: fetched }) };
  const filters = translateHttpFilters(config.http_filters ?? [], fetched, options.extensionConfigTypes ?? new Map());
  const hcm = httpConnectionManager(config.name, routing, filters, { vhds: onDemand.length > 0, odcds: options.odcds ?? false });
  const typedHcm = anyPack(HttpConnectionManagerSchema, hcm);
  const listener = config.grpc
    ? create(ListenerSchema, { name: config.name, apiListener: { apiListener: typedHcm } })
    : create(ListenerSchema, {
        name: config.name,
        address: socketAddress(config.address ?? defaultListenerAddress, config.port ?? 0),
        filterChains: [
          {
            filters: [{ name: httpConnectionManagerFilter, configType: { case: "typedConfig", value: typedHcm } }],
            transportSocket: config.tls ? downstreamTlsSocket(config.tls, fetched) : undefined,
          },
        ],
      });
  const inline = vhosts.filter((v) => !v.on_demand);
  if (routeConfigName === undefined) return { listener, virtualHosts: [] };
  const routes = translateRoutes(routeConfigName, inline);
  if (onDemand.length > 0) routes.vhds = create(VhdsSchema, { configSource: adsConfigSource() });
  const virtualHosts = onDemand.map((v) => create(VirtualHostSchema, translateVirtualHost(v, vhdsNameOf(routeConfigName, v))));
  return { listener, routes, virtualHosts };
}

/** The VHDS name of a short-form on-demand virtual host: `<route configuration>/<virtual host name>`. */
export function vhdsNameOf(routeConfigName: string, vhost: VirtualHostConfig): string {
  return `${routeConfigName}/${vhost.name}`;
}

export function httpConnectionManager(
  statPrefix: string,
  routeSpecifier: HttpConnectionManager["routeSpecifier"],
  ownFilters: HttpFilter[],
  onDemand: { vhds: boolean; odcds: boolean } = { vhds: false, odcds: false },
): HttpConnectionManager {
  // Envoy 1.39+ finds filters by typed_config type URL only, so every filter carries one (or config_discovery);
  // gRPC requires the router last. The listener's own filters come first, in the order written. The on_demand
  // filter pauses a request whose Host has no virtual host yet (VHDS) or whose route's cluster Envoy lacks (with
  // odcds), until the fetch is answered. Both over ADS: VHDS and on-demand CDS are delta only, and the bootstrap's
  // ADS stream is (xdsd bootstrap --mode delta-ads; other modes refuse such a config).
  const onDemandConfig = create(OnDemandSchema, onDemand.odcds ? { odcds: { source: adsConfigSource() } } : {});
  return create(HttpConnectionManagerSchema, {
    statPrefix,
    routeSpecifier,
    httpFilters: [
      ...ownFilters,
      ...(onDemand.vhds || onDemand.odcds
        ? [{ name: onDemandFilter, configType: { case: "typedConfig" as const, value: anyPack(OnDemandSchema, onDemandConfig) } }]
        : []),
      { name: routerFilter, configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } },
    ],
  });
}

export function translateRoutes(name: string, virtualHosts: VirtualHostConfig[]): RouteConfiguration {
  return create(RouteConfigurationSchema, { name, virtualHosts: virtualHosts.map((vhost) => translateVirtualHost(vhost, vhost.name)) });
}

function translateVirtualHost(vhost: VirtualHostConfig, name: string): MessageInitShape<typeof VirtualHostSchema> {
  return { name, domains: vhost.domains, routes: vhost.routes.map(translateRoute) };
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
