// What an Envoy resource names of other resources, found once for everything that needs it: the registry's entries
// (types.ts) use these for the snapshot's consistency check and the server's make-before-break rule, and the config
// validator for its located errors. Two kinds:
// - references a client fetches from xdsd by name (a Listener's RDS route configurations, an EDS Cluster's
//   ClusterLoadAssignment): a client whose dependency never arrives waits for it (warming, then a timeout);
// - clusters a resource sends traffic to (routes): a route to a missing cluster answers 503.
// (A Listener's and a Cluster's TLS secrets over SDS are references of the first kind: Envoy holds the listener or
// cluster warming until they arrive.)
// (A Listener's scoped routes over SRDS are not a reference: Envoy subscribes to every scope of its node at once,
// not by name; see the registry's SRDS entry.)
// Each comes with where it is inside the referring resource, in proto field names (config/raw-resources.ts maps
// them to what the author wrote).
import { anyIs, anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { servedByControlPlane } from "./config-source.js";
import type { Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import type { Filter, ListenerFilter } from "../gen/envoy/config/listener/v3/listener_components_pb.js";
import type { RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import type { VirtualHost } from "../gen/envoy/config/route/v3/route_components_pb.js";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
  type HttpFilter,
} from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { TransportSocket } from "../gen/envoy/config/core/v3/base_pb.js";
import type { SdsSecretConfig } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema, type CommonTlsContext } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";

/** A path of proto field names and list indexes inside a message. */
export type FieldPath = readonly (string | number)[];
type Path = FieldPath;

export interface Reference {
  name: string;
  /** Where the reference is, inside the referring resource. */
  at: Path;
}

export interface HcmSite {
  hcm: HttpConnectionManager;
  /** Path of the HCM's Any inside the Listener. */
  at: Path;
}

/** Every HTTP connection manager of a Listener: in its filter chains, its default chain, and its API listener. */
export function httpConnectionManagers(listener: Listener): HcmSite[] {
  const sites: HcmSite[] = [];
  const visit = (any: Any | undefined, at: Path) => {
    if (any && anyIs(any, HttpConnectionManagerSchema)) {
      const hcm = anyUnpack(any, HttpConnectionManagerSchema);
      if (hcm) sites.push({ hcm, at });
    }
  };
  const chains = listener.filterChains.map((chain, i) => ({ chain, at: ["filter_chains", i] as Path }));
  if (listener.defaultFilterChain) chains.push({ chain: listener.defaultFilterChain, at: ["default_filter_chain"] });
  for (const { chain, at } of chains) {
    chain.filters.forEach((filter, j) => {
      if (filter.configType.case === "typedConfig") visit(filter.configType.value, [...at, "filters", j, "typed_config"]);
    });
  }
  visit(listener.apiListener?.apiListener, ["api_listener", "api_listener"]);
  return sites;
}

/**
 * Route configurations a Listener gets over RDS from us (not from a file or another server): its HTTP connection
 * managers' `rds`, and the scopes written inline in their `scoped_routes` (each names its route table, fetched over
 * `rds_config_source`). Scopes fetched over SRDS name theirs in the ScopedRouteConfiguration (its own entry).
 */
export function listenerRouteRefs(listener: Listener): Reference[] {
  const refs: Reference[] = [];
  for (const { hcm, at } of httpConnectionManagers(listener)) {
    const spec = hcm.routeSpecifier;
    if (spec.case === "rds" && servedByControlPlane(spec.value.configSource)) {
      refs.push({ name: spec.value.routeConfigName, at: [...at, "rds", "route_config_name"] });
    }
    if (spec.case === "scopedRoutes" && spec.value.configSpecifier.case === "scopedRouteConfigurationsList") {
      if (!servedByControlPlane(spec.value.rdsConfigSource)) continue;
      spec.value.configSpecifier.value.scopedRouteConfigurations.forEach((scope, i) => {
        if (!scope.routeConfigurationName) return;
        const listAt = [...at, "scoped_routes", "scoped_route_configurations_list", "scoped_route_configurations", i];
        refs.push({ name: scope.routeConfigurationName, at: [...listAt, "route_configuration_name"] });
      });
    }
  }
  return refs;
}

/**
 * Extension configs a Listener gets over ECDS from us: every filter with `config_discovery` — HTTP filters of its
 * HTTP connection managers, network filters of its filter chains, listener filters. Envoy subscribes to each by the
 * filter's `name` (envoy.config.core.v3.ExtensionConfigSource: "the name of the filter is the resource name"), and
 * holds the listener warming until it arrives.
 */
export function listenerExtensionConfigRefs(listener: Listener): Reference[] {
  const refs: Reference[] = [];
  const add = (filter: Filter | ListenerFilter | HttpFilter, at: Path) => {
    if (filter.configType.case === "configDiscovery" && servedByControlPlane(filter.configType.value.configSource))
      refs.push({ name: filter.name, at: [...at, "name"] });
  };
  for (const [i, f] of listener.listenerFilters.entries()) add(f, ["listener_filters", i]);
  const chains = listener.filterChains.map((chain, i) => ({ chain, at: ["filter_chains", i] as Path }));
  if (listener.defaultFilterChain) chains.push({ chain: listener.defaultFilterChain, at: ["default_filter_chain"] });
  for (const { chain, at } of chains) for (const [j, f] of chain.filters.entries()) add(f, [...at, "filters", j]);
  for (const { hcm, at } of httpConnectionManagers(listener)) for (const [i, f] of hcm.httpFilters.entries()) add(f, [...at, "http_filters", i]);
  return refs;
}

/** Clusters named by a Listener's inline route configurations. */
export function listenerClusterRefs(listener: Listener): Reference[] {
  const refs: Reference[] = [];
  for (const { hcm, at } of httpConnectionManagers(listener)) {
    if (hcm.routeSpecifier.case === "routeConfig") {
      for (const ref of routeClusterRefs(hcm.routeSpecifier.value)) refs.push({ name: ref.name, at: [...at, "route_config", ...ref.at] });
    }
  }
  return refs;
}

/** Clusters named by routes (`cluster` and `weighted_clusters`); `cluster_header` can't be checked statically. */
export function routeClusterRefs(routeConfig: RouteConfiguration): Reference[] {
  const refs: Reference[] = [];
  routeConfig.virtualHosts.forEach((vhost, i) => {
    for (const ref of virtualHostClusterRefs(vhost)) refs.push({ name: ref.name, at: ["virtual_hosts", i, ...ref.at] });
  });
  return refs;
}

/** Clusters named by a virtual host's routes. */
export function virtualHostClusterRefs(vhost: VirtualHost): Reference[] {
  const refs: Reference[] = [];
  vhost.routes.forEach((route, j) => {
    if (route.action.case !== "route") return;
    const at: Path = ["routes", j, "route"];
    const spec = route.action.value.clusterSpecifier;
    if (spec.case === "cluster") refs.push({ name: spec.value, at: [...at, "cluster"] });
    if (spec.case === "weightedClusters") {
      for (const [k, wc] of spec.value.clusters.entries()) refs.push({ name: wc.name, at: [...at, "weighted_clusters", "clusters", k, "name"] });
    }
  });
  return refs;
}

/** The ClusterLoadAssignment an EDS Cluster waits for, if it gets it from us. */
export function clusterEndpointsRef(cluster: Cluster): Reference | undefined {
  if (cluster.clusterDiscoveryType.case !== "type" || cluster.clusterDiscoveryType.value !== Cluster_DiscoveryType.EDS) return undefined;
  const eds = cluster.edsClusterConfig;
  if (!servedByControlPlane(eds?.edsConfig)) return undefined;
  if (eds?.serviceName) return { name: eds.serviceName, at: ["eds_cluster_config", "service_name"] };
  return { name: cluster.name, at: ["name"] };
}

/**
 * Secrets a TLS context gets over SDS from us: its certificates' and its validation context's `sds_config`s
 * (SdsSecretConfig: "if sds_config is not set, the secret is static", from the bootstrap — not ours to provide).
 */
function tlsContextSecretRefs(common: CommonTlsContext | undefined, at: Path): Reference[] {
  if (!common) return [];
  const refs: Reference[] = [];
  const add = (sds: SdsSecretConfig | undefined, sdsAt: Path) => {
    if (sds?.sdsConfig && servedByControlPlane(sds.sdsConfig)) refs.push({ name: sds.name, at: [...sdsAt, "name"] });
  };
  for (const [i, sds] of common.tlsCertificateSdsSecretConfigs.entries()) add(sds, [...at, "tls_certificate_sds_secret_configs", i]);
  const validation = common.validationContextType;
  if (validation.case === "validationContextSdsSecretConfig") add(validation.value, [...at, "validation_context_sds_secret_config"]);
  if (validation.case === "combinedValidationContext") {
    add(validation.value.validationContextSdsSecretConfig, [...at, "combined_validation_context", "validation_context_sds_secret_config"]);
  }
  return refs;
}

/** The secrets a transport socket (a TLS one, downstream or upstream) gets over SDS from us. */
function transportSocketSecretRefs(socket: TransportSocket | undefined, at: Path): Reference[] {
  if (socket?.configType.case !== "typedConfig") return [];
  const any = socket.configType.value;
  const typedAt = [...at, "typed_config", "common_tls_context"];
  if (anyIs(any, DownstreamTlsContextSchema)) return tlsContextSecretRefs(anyUnpack(any, DownstreamTlsContextSchema)?.commonTlsContext, typedAt);
  if (anyIs(any, UpstreamTlsContextSchema)) return tlsContextSecretRefs(anyUnpack(any, UpstreamTlsContextSchema)?.commonTlsContext, typedAt);
  return [];
}

/** Secrets a Listener's filter chains get over SDS from us (their TLS transport sockets). */
export function listenerSecretRefs(listener: Listener): Reference[] {
  const refs = listener.filterChains.flatMap((chain, i) => transportSocketSecretRefs(chain.transportSocket, ["filter_chains", i, "transport_socket"]));
  if (listener.defaultFilterChain)
    refs.push(...transportSocketSecretRefs(listener.defaultFilterChain.transportSocket, ["default_filter_chain", "transport_socket"]));
  return refs;
}

/** Secrets a Cluster's connections get over SDS from us (its TLS transport socket, and those of its matches). */
export function clusterSecretRefs(cluster: Cluster): Reference[] {
  return [
    ...transportSocketSecretRefs(cluster.transportSocket, ["transport_socket"]),
    ...cluster.transportSocketMatches.flatMap((m, i) => transportSocketSecretRefs(m.transportSocket, ["transport_socket_matches", i, "transport_socket"])),
  ];
}
