// The registry of xDS resource types: everything the cache and the stream state machines need to know about a
// type lives in its one entry here. Adding a type is adding an entry to `resourceTypes`.
import type { DescMessage, DescService, Message } from "@bufbuild/protobuf";
import { ClusterDiscoveryService } from "../gen/envoy/service/cluster/v3/cds_pb.js";
import { EndpointDiscoveryService } from "../gen/envoy/service/endpoint/v3/eds_pb.js";
import { ListenerDiscoveryService } from "../gen/envoy/service/listener/v3/lds_pb.js";
import { RouteDiscoveryService, VirtualHostDiscoveryService } from "../gen/envoy/service/route/v3/rds_pb.js";
import { ScopedRoutesDiscoveryService } from "../gen/envoy/service/route/v3/srds_pb.js";
import { SecretDiscoveryService } from "../gen/envoy/service/secret/v3/sds_pb.js";
import { RuntimeDiscoveryService } from "../gen/envoy/service/runtime/v3/rtds_pb.js";
import { ExtensionConfigDiscoveryService } from "../gen/envoy/service/extension/v3/config_discovery_pb.js";
import { ClusterSchema, Cluster_LbPolicy, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { ScopedRouteConfigurationSchema, type ScopedRouteConfiguration } from "../gen/envoy/config/route/v3/scoped_route_pb.js";
import { VirtualHostSchema, type VirtualHost } from "../gen/envoy/config/route/v3/route_components_pb.js";
import { SecretSchema, type Secret } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { RuntimeSchema, type Runtime } from "../gen/envoy/service/runtime/v3/rtds_pb.js";
import { TypedExtensionConfigSchema, type TypedExtensionConfig } from "../gen/envoy/config/core/v3/extension_pb.js";
import { TypeUrl, messageNameOf } from "./type-urls.js";
import { UnknownTypeError } from "../errors.js";
import { resolveVirtualHostName, type NamedMessage } from "./vhds-names.js";
import {
  clusterEndpointsRef,
  clusterSecretRefs,
  listenerClusterRefs,
  listenerExtensionConfigRefs,
  listenerRouteRefs,
  listenerSecretRefs,
  routeClusterRefs,
  virtualHostClusterRefs,
  type FieldPath,
  type Reference,
} from "./references.js";

/** A resource's pointer to another resource that a client will have to fetch by name. */
export interface ResourceReference {
  typeUrl: string;
  name: string;
}

/** A reference with where it is in the referring resource. How the client fetches it: fetchedOver(typeUrl). */
export interface LocatedReference extends ResourceReference {
  at: FieldPath;
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
  /**
   * The type's own discovery service, which Envoy can use instead of ADS (its methods: discovery-service.ts).
   */
  readonly perTypeService?: DescService;
  /**
   * Types whose resources may name resources of this one for use rather than for fetching (a route names the
   * cluster it sends traffic to). When they are served on the same ADS stream, a removal of this type waits until
   * they have been pushed and acknowledged ("make before break").
   */
  readonly usedBy?: readonly string[];
  /** The proto field that names a resource (`name`; `cluster_name` for a ClusterLoadAssignment). */
  readonly nameField: string;
  nameOf(resource: T): string;
  /** What a client receiving this resource will fetch from xdsd by name, each where it is written. */
  referencesOf(resource: T): LocatedReference[];
  /** Clusters this resource sends traffic to (routes): not fetched, but a missing one answers 503. */
  clustersUsedBy?(resource: T): Reference[];
  /** The socket a Listener binds, for the check that two listeners do not claim one port. */
  socketOf?(resource: T): { address: string; port: number; at: FieldPath } | undefined;
  /** A Cluster's load-balancing policy by name (gRPC clients accept only some), when it is set by `lb_policy`. */
  lbPolicyOf?(resource: T): { policy: string; at: FieldPath } | undefined;
  /**
   * Whether the resource is served on demand only: to an incremental (delta) stream that names it, never as part of
   * a wildcard subscription (see onDemandMetadataKey).
   */
  onDemandOf?(resource: T): boolean;
  /**
   * Types whose clients ask for resources by alias (VHDS): the name of the resource a requested name stands for,
   * among the snapshot's resources of the type; undefined when there is none.
   */
  resolveAlias?(requested: string, resources: ReadonlyMap<string, NamedMessage>): string | undefined;
  /**
   * Types a client subscribes to by namespace, a namespace being opened by a resource of another type the client
   * holds (VHDS: a RouteConfiguration with `vhds` opens the namespace of its name). `of`: the namespace a resource
   * of type `typeUrl` opens, if any.
   */
  readonly namespacesOpenedBy?: { readonly typeUrl: string; of(resource: Message): string | undefined };
}

/**
 * A Cluster marked `metadata.filter_metadata.xdsd.on_demand: true` is served on demand only. Envoy's main CDS
 * subscription is a wildcard, and a wildcard means "the full set of resources the server decides the client is
 * interested in" (xDS spec, "How the client specifies what resources to return"), so xdsd leaves these out of it:
 * Envoy gets them only when it names them — its on-demand CDS (the `envoy.filters.http.on_demand` filter with
 * `odcds`) subscribes a cluster by name, over delta xDS only, the first time a route needs it. A state-of-the-world
 * stream cannot ask for anything on demand (Envoy's OdCdsApiImpl supports delta only; gRPC clients name their
 * clusters anyway), so there the mark changes nothing. The mark lives in the resource itself (Envoy ignores a
 * filter_metadata namespace no filter reads, as with Istio's `istio` namespace): it travels with the encoded bytes,
 * is part of the content version, and shows in Envoy's /config_dump once the cluster is there.
 */
export const onDemandMetadataKey = { namespace: "xdsd", field: "on_demand" } as const;

function markedOnDemand(metadata: Cluster["metadata"]): boolean {
  return metadata?.filterMetadata[onDemandMetadataKey.namespace]?.[onDemandMetadataKey.field] === true;
}

const none = (): LocatedReference[] => [];

function located(refs: Reference[], typeUrl: string): LocatedReference[] {
  return refs.map((r) => ({ typeUrl, name: r.name, at: r.at }));
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
    perTypeService: ClusterDiscoveryService,
    // Listeners name clusters in tcp_proxy and the like, route configurations and virtual hosts in their routes.
    usedBy: [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.ScopedRouteConfiguration, TypeUrl.VirtualHost],
    nameField: "name",
    nameOf: (c) => c.name,
    referencesOf: (c) => {
      const eds = clusterEndpointsRef(c);
      return [...(eds ? located([eds], TypeUrl.ClusterLoadAssignment) : []), ...located(clusterSecretRefs(c), TypeUrl.Secret)];
    },
    lbPolicyOf: (c) => (c.loadBalancingPolicy ? undefined : { policy: Cluster_LbPolicy[c.lbPolicy], at: ["lb_policy"] }),
    onDemandOf: (c) => markedOnDemand(c.metadata),
  }),
  entry<ClusterLoadAssignment>({
    short: "eds",
    typeUrl: TypeUrl.ClusterLoadAssignment,
    schema: ClusterLoadAssignmentSchema,
    pushOrder: 20,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: EndpointDiscoveryService,
    nameField: "cluster_name",
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
    perTypeService: ListenerDiscoveryService,
    nameField: "name",
    nameOf: (l) => l.name,
    referencesOf: (l) => [
      ...located(listenerRouteRefs(l), TypeUrl.RouteConfiguration),
      ...located(listenerExtensionConfigRefs(l), TypeUrl.ExtensionConfig),
      ...located(listenerSecretRefs(l), TypeUrl.Secret),
    ],
    clustersUsedBy: listenerClusterRefs,
    socketOf: (l) => {
      const socket = l.address?.address.case === "socketAddress" ? l.address.address.value : undefined;
      if (socket?.portSpecifier.case !== "portValue") return undefined;
      return { address: socket.address, port: socket.portSpecifier.value, at: ["address", "socket_address", "port_value"] };
    },
  }),
  entry<RouteConfiguration>({
    short: "rds",
    typeUrl: TypeUrl.RouteConfiguration,
    schema: RouteConfigurationSchema,
    pushOrder: 40,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: RouteDiscoveryService,
    nameField: "name",
    nameOf: (r) => r.name,
    referencesOf: none,
    clustersUsedBy: routeClusterRefs,
  }),
  entry<ScopedRouteConfiguration>({
    short: "srds",
    typeUrl: TypeUrl.ScopedRouteConfiguration,
    schema: ScopedRouteConfigurationSchema,
    pushOrder: 45,
    // Envoy's SRDS subscription names nothing (ScopedRdsConfigSubscription starts with an empty set: every scope of
    // the node, whichever listener's scope key builder then picks among them), and a state-of-the-world update
    // replaces the whole set (scopes missing from it are removed): as LDS and CDS, not as RDS. Checked against
    // Envoy 1.40: with RDS's rules, its first SRDS request went unanswered until its 15 s initial fetch timeout.
    sotwFullState: true,
    wildcardByDefault: true,
    perTypeService: ScopedRoutesDiscoveryService,
    nameField: "name",
    nameOf: (s) => s.name,
    referencesOf: (s) =>
      s.routeConfigurationName ? [{ typeUrl: TypeUrl.RouteConfiguration, name: s.routeConfigurationName, at: ["route_configuration_name"] }] : [],
  }),
  entry<VirtualHost>({
    short: "vhds",
    typeUrl: TypeUrl.VirtualHost,
    schema: VirtualHostSchema,
    pushOrder: 50,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: VirtualHostDiscoveryService,
    nameField: "name",
    nameOf: (v) => v.name,
    referencesOf: none,
    clustersUsedBy: virtualHostClusterRefs,
    resolveAlias: resolveVirtualHostName,
    namespacesOpenedBy: { typeUrl: TypeUrl.RouteConfiguration, of: (rc) => ((rc as RouteConfiguration).vhds ? (rc as RouteConfiguration).name : undefined) },
  }),
  entry<Secret>({
    short: "sds",
    typeUrl: TypeUrl.Secret,
    schema: SecretSchema,
    pushOrder: 60,
    sotwFullState: false,
    wildcardByDefault: false,
    perTypeService: SecretDiscoveryService,
    nameField: "name",
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
    perTypeService: RuntimeDiscoveryService,
    nameField: "name",
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
    perTypeService: ExtensionConfigDiscoveryService,
    nameField: "name",
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

/** How a client fetches a resource of the type, for messages: `over RDS`, `over EDS`… */
export function fetchedOver(typeUrl: string): string {
  const type = findResourceType(typeUrl);
  return type ? `over ${type.short.toUpperCase()}` : `as ${typeUrl}`;
}

/** Type URLs sorted into the ADS push order. */
export function byPushOrder(typeUrls: Iterable<string>): string[] {
  return [...typeUrls].sort((a, b) => (findResourceType(a)?.pushOrder ?? 1000) - (findResourceType(b)?.pushOrder ?? 1000));
}

/**
 * The namespace a resource opens for the types subscribed to by namespace (VHDS: a RouteConfiguration with `vhds`
 * opens its name), read from the entries' `namespacesOpenedBy`; undefined when it opens none.
 */
export function namespaceOpenedBy(typeUrl: string, resource: Message): string | undefined {
  for (const t of resourceTypes) if (t.namespacesOpenedBy?.typeUrl === typeUrl) return t.namespacesOpenedBy.of(resource);
  return undefined;
}

/**
 * Whether Envoy gets a resource, or what it opens, only by asking on demand — which it does over incremental xDS
 * only: a Cluster served on demand (on-demand CDS), a RouteConfiguration whose virtual hosts come over VHDS.
 */
export function fetchedOnDemand(typeUrl: string, resource: Message): boolean {
  const type = findResourceType(typeUrl);
  return (type?.onDemandOf?.(resource as never) ?? false) || namespaceOpenedBy(typeUrl, resource) !== undefined;
}
