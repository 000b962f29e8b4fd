// The registry of xDS resource types: everything the cache and the stream state machines need to know about a
// type lives in its one entry here. Adding a type is adding an entry to `resourceTypes`.
import { fromBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, Cluster_DiscoveryType, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import type { FilterChain } from "../gen/envoy/config/listener/v3/listener_components_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { ScopedRouteConfigurationSchema, type ScopedRouteConfiguration } from "../gen/envoy/config/route/v3/scoped_route_pb.js";
import { VirtualHostSchema, type VirtualHost } from "../gen/envoy/config/route/v3/route_components_pb.js";
import { SecretSchema, type Secret } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { RuntimeSchema, type Runtime } from "../gen/envoy/service/runtime/v3/rtds_pb.js";
import { TypedExtensionConfigSchema, type TypedExtensionConfig } from "../gen/envoy/config/core/v3/extension_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TypeUrl, messageNameOf } from "./type-urls.js";
import { servedByControlPlane } from "./config-source.js";
import { UnknownTypeError } from "../errors.js";

/** A resource's pointer to another resource that a client will have to fetch by name. */
export interface ResourceReference {
  typeUrl: string;
  name: string;
}

/** The per-type gRPC service Envoy can use instead of ADS (e.g. `ClusterDiscoveryService.StreamClusters`). */
export interface PerTypeService {
  service: string;
  sotwMethod: string;
  deltaMethod?: string;
}

export interface ResourceType<T extends Message = Message> {
  /** Short name used in logs, metrics and the admin API: `cds`, `eds`… */
  readonly short: string;
  readonly typeUrl: string;
  readonly schema: DescMessage;
  /**
   * Place in the ADS push order: lower goes first. CDS → EDS → LDS → RDS is the "make before break" order of the
   * xDS spec (a cluster must exist, with endpoints, before a route points at it); the rest follow.
   */
  readonly pushOrder: number;
  /**
   * SotW only: whether every response must carry the complete set of subscribed resources (LDS, CDS: a resource
   * missing from a response is deleted by the client) or may carry just the changed ones (RDS, EDS, …: absence is
   * not deletion; these are removed implicitly when nothing references them).
   */
  readonly sotwFullState: boolean;
  /** The legacy wildcard rule applies: a stream that has never named a resource of this type means "all of them". */
  readonly wildcardByDefault: boolean;
  readonly perTypeService?: PerTypeService;
  /**
   * Types whose resources may name resources of this one for use rather than for fetching (a route names the
   * cluster it sends traffic to). When they are served on the same ADS stream, a removal of this type waits until
   * they have been pushed and acknowledged ("make before break").
   */
  readonly usedBy?: readonly string[];
  nameOf(resource: T): string;
  referencesOf(resource: T): ResourceReference[];
}

const none = (): ResourceReference[] => [];

function edsNameOf(cluster: Cluster): string | undefined {
  if (cluster.clusterDiscoveryType.case !== "type" || cluster.clusterDiscoveryType.value !== Cluster_DiscoveryType.EDS) {
    return undefined;
  }
  // Only an EDS config that points back at xDS makes the client ask us; an absent service_name means the cluster
  // name (envoy/config/cluster/v3/cluster.proto, EdsClusterConfig.service_name).
  if (!servedByControlPlane(cluster.edsClusterConfig?.edsConfig)) return undefined;
  return cluster.edsClusterConfig?.serviceName || cluster.name;
}

function unpackHcm(any: Any | undefined): HttpConnectionManager | undefined {
  if (!any || messageNameOf(any.typeUrl) !== HttpConnectionManagerSchema.typeName) return undefined;
  return fromBinary(HttpConnectionManagerSchema, any.value);
}

function rdsNamesOfHcm(hcm: HttpConnectionManager | undefined): string[] {
  const rds = hcm?.routeSpecifier.case === "rds" ? hcm.routeSpecifier.value : undefined;
  return rds && servedByControlPlane(rds.configSource) ? [rds.routeConfigName] : [];
}

function rdsNamesOfFilterChain(chain: FilterChain | undefined): string[] {
  if (!chain) return [];
  return chain.filters.flatMap((f) => (f.configType.case === "typedConfig" ? rdsNamesOfHcm(unpackHcm(f.configType.value)) : []));
}

function listenerReferences(listener: Listener): ResourceReference[] {
  const names = new Set<string>([
    ...listener.filterChains.flatMap(rdsNamesOfFilterChain),
    ...rdsNamesOfFilterChain(listener.defaultFilterChain),
    ...rdsNamesOfHcm(unpackHcm(listener.apiListener?.apiListener)),
  ]);
  return [...names].map((name) => ({ typeUrl: TypeUrl.RouteConfiguration, name }));
}

function entry<T extends Message>(e: ResourceType<T>): ResourceType {
  return e as unknown as ResourceType;
}

export const resourceTypes: readonly ResourceType[] = [
  entry<Cluster>({
    short: "cds",
    typeUrl: TypeUrl.Cluster,
    schema: ClusterSchema,
    pushOrder: 10,
    sotwFullState: true,
    wildcardByDefault: true,
    perTypeService: { service: "envoy.service.cluster.v3.ClusterDiscoveryService", sotwMethod: "StreamClusters", deltaMethod: "DeltaClusters" },
    // Listeners name clusters in tcp_proxy and the like, route configurations and virtual hosts in their routes.
    usedBy: [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.ScopedRouteConfiguration, TypeUrl.VirtualHost],
    nameOf: (c) => c.name,
    referencesOf: (c) => {
      const eds = edsNameOf(c);
      return eds === undefined ? [] : [{ typeUrl: TypeUrl.ClusterLoadAssignment, name: eds }];
    },
  }),
  entry<ClusterLoadAssignment>({
    short: "eds",
    typeUrl: TypeUrl.ClusterLoadAssignment,
    schema: ClusterLoadAssignmentSchema,
    pushOrder: 20,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: { service: "envoy.service.endpoint.v3.EndpointDiscoveryService", sotwMethod: "StreamEndpoints", deltaMethod: "DeltaEndpoints" },
    nameOf: (cla) => cla.clusterName,
    referencesOf: none,
  }),
  entry<Listener>({
    short: "lds",
    typeUrl: TypeUrl.Listener,
    schema: ListenerSchema,
    pushOrder: 30,
    sotwFullState: true,
    wildcardByDefault: true,
    perTypeService: { service: "envoy.service.listener.v3.ListenerDiscoveryService", sotwMethod: "StreamListeners", deltaMethod: "DeltaListeners" },
    nameOf: (l) => l.name,
    referencesOf: listenerReferences,
  }),
  entry<RouteConfiguration>({
    short: "rds",
    typeUrl: TypeUrl.RouteConfiguration,
    schema: RouteConfigurationSchema,
    pushOrder: 40,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: { service: "envoy.service.route.v3.RouteDiscoveryService", sotwMethod: "StreamRoutes", deltaMethod: "DeltaRoutes" },
    nameOf: (r) => r.name,
    referencesOf: none,
  }),
  entry<ScopedRouteConfiguration>({
    short: "srds",
    typeUrl: TypeUrl.ScopedRouteConfiguration,
    schema: ScopedRouteConfigurationSchema,
    pushOrder: 45,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: { service: "envoy.service.route.v3.ScopedRoutesDiscoveryService", sotwMethod: "StreamScopedRoutes", deltaMethod: "DeltaScopedRoutes" },
    nameOf: (s) => s.name,
    referencesOf: (s) => (s.routeConfigurationName ? [{ typeUrl: TypeUrl.RouteConfiguration, name: s.routeConfigurationName }] : []),
  }),
  entry<VirtualHost>({
    short: "vhds",
    typeUrl: TypeUrl.VirtualHost,
    schema: VirtualHostSchema,
    pushOrder: 50,
    sotwFullState: false,
    wildcardByDefault: false,
    nameOf: (v) => v.name,
    referencesOf: none,
  }),
  entry<Secret>({
    short: "sds",
    typeUrl: TypeUrl.Secret,
    schema: SecretSchema,
    pushOrder: 60,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: { service: "envoy.service.secret.v3.SecretDiscoveryService", sotwMethod: "StreamSecrets", deltaMethod: "DeltaSecrets" },
    nameOf: (s) => s.name,
    referencesOf: none,
  }),
  entry<Runtime>({
    short: "rtds",
    typeUrl: TypeUrl.Runtime,
    schema: RuntimeSchema,
    pushOrder: 70,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: { service: "envoy.service.runtime.v3.RuntimeDiscoveryService", sotwMethod: "StreamRuntime", deltaMethod: "DeltaRuntime" },
    nameOf: (r) => r.name,
    referencesOf: none,
  }),
  entry<TypedExtensionConfig>({
    short: "ecds",
    typeUrl: TypeUrl.ExtensionConfig,
    schema: TypedExtensionConfigSchema,
    pushOrder: 80,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: { service: "envoy.service.extension.v3.ExtensionConfigDiscoveryService", sotwMethod: "StreamExtensionConfigs", deltaMethod: "DeltaExtensionConfigs" },
    nameOf: (e) => e.name,
    referencesOf: none,
  }),
];

const byTypeUrl = new Map(resourceTypes.map((t) => [t.typeUrl, t]));
const byMessageName = new Map(resourceTypes.map((t) => [t.schema.typeName, t]));

/** The registered type for a type URL, or undefined. Accepts a bare message name too (gRPC clients may send one). */
export function findResourceType(typeUrl: string): ResourceType | undefined {
  return byTypeUrl.get(typeUrl) ?? byMessageName.get(messageNameOf(typeUrl));
}

export function resourceType(typeUrl: string): ResourceType {
  const t = findResourceType(typeUrl);
  if (!t) throw new UnknownTypeError(typeUrl);
  return t;
}

/** Type URLs sorted into the ADS push order. */
export function byPushOrder(typeUrls: Iterable<string>): string[] {
  return [...typeUrls].sort((a, b) => (findResourceType(a)?.pushOrder ?? 1000) - (findResourceType(b)?.pushOrder ?? 1000));
}
