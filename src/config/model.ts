// The short config format as TypeScript types: what the JSON Schema accepts, after it accepted it. The semantic
// checks and the translation read these; the schema (schema/xdsd-config.schema.json) is the authority, and
// test/unit/config-model-schema.test.ts ties each list of names here to the schema's enum (and to Envoy's own enum
// where the name is Envoy's).
import { durationMs } from "./duration.js";

export const lbPolicyNames = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV"] as const;
export type LbPolicyName = (typeof lbPolicyNames)[number];

export const localityKeys = ["region", "zone", "sub_zone"] as const;
export type LocalityConfig = { [K in (typeof localityKeys)[number]]?: string };

export interface EndpointObject {
  address: string;
  port: number;
  weight?: number;
  locality?: LocalityConfig;
  priority?: number;
  /** As Envoy's core.v3.HealthStatus; DRAINING: existing requests finish, new ones go elsewhere. */
  health_status?: HealthStatusName;
  /** `filter_metadata`: namespace → fields (e.g. `envoy.lb` for subset load balancing). */
  metadata?: Record<string, Record<string, unknown>>;
}

export const healthStatusNames = ["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"] as const;
export type HealthStatusName = (typeof healthStatusNames)[number];

export type EndpointConfig = string | EndpointObject;

/**
 * The most a locality may weigh: its load_balancing_weight (the sum of its endpoints' weights, translate.ts) is a
 * uint32 to Envoy and gRPC, and Envoy requires the endpoint weights of a locality to add up to no more.
 */
export const localityWeightLimit = 4294967295;

/** The endpoints of a cluster with the same priority and locality make one LocalityLbEndpoints: its key. */
export function localityGroupKey(priority: number, locality: LocalityConfig): string {
  return JSON.stringify([priority, locality.region ?? "", locality.zone ?? "", locality.sub_zone ?? ""]);
}

export interface ClusterConfig {
  name: string;
  connect_timeout?: string;
  lb_policy?: LbPolicyName;
  http2?: boolean;
  locality?: LocalityConfig;
  endpoints: EndpointConfig[];
  /** The cluster expires at the proxy this long after xdsd stops refreshing it (xDS TTL). */
  ttl?: string;
  /** Served on demand only (on-demand CDS over delta ADS), not with the rest of the clusters. */
  on_demand?: boolean;
  /** gRPC clients report the cluster's load to xdsd (lrs_server: self). */
  load_reporting?: boolean;
  /** TLS to the endpoints, its CA (and certificate) over SDS. */
  tls?: UpstreamTlsConfig;
}

export interface WeightedClusterConfig {
  name: string;
  weight: number;
}

export interface RouteConfig {
  prefix?: string;
  path?: string;
  regex?: string;
  cluster?: string;
  weighted_clusters?: WeightedClusterConfig[];
  timeout?: string;
}

export interface VirtualHostConfig {
  name: string;
  domains: string[];
  routes: RouteConfig[];
  /** Served on demand (VHDS over delta ADS) as the VirtualHost `<route configuration>/<name>`, not inline. */
  on_demand?: boolean;
}

export interface ListenerConfig {
  name: string;
  address?: string;
  port?: number;
  grpc?: boolean;
  route_config_name?: string;
  /** Its own route table; absent when it routes by scope (`scope_header`). */
  virtual_hosts?: VirtualHostConfig[];
  /** The listener expires at the proxy this long after xdsd stops refreshing it (xDS TTL). */
  ttl?: string;
  /** HTTP filters before the router, in order. */
  http_filters?: HttpFilterConfig[];
  /** Routes by scope (SRDS): the value of this request header is the key of the group's scope to use. */
  scope_header?: string;
  /** TLS on its filter chain, its certificate (and client CA) over SDS. */
  tls?: DownstreamTlsConfig;
}

/**
 * A `secrets:` entry (secrets.ts): a TLS certificate (certificate chain and private key) or a validation context
 * (trusted CAs), each part inline or in a file that xdsd reads and watches; served over SDS by name.
 */
export interface SecretEntry {
  name: string;
  cert_file?: string;
  cert_pem?: string;
  key_file?: string;
  key_pem?: string;
  ca_file?: string;
  ca_pem?: string;
}

/** A listener's `tls`: DownstreamTlsContext, secrets by name. */
export interface DownstreamTlsConfig {
  certificate: string;
  validation_context?: string;
  require_client_certificate?: boolean;
}

/** A cluster's `tls`: UpstreamTlsContext, secrets by name. */
export interface UpstreamTlsConfig {
  validation_context: string;
  sni?: string;
  certificate?: string;
}

/** An Envoy extension's config as Envoy's YAML writes a `typed_config`: proto3 JSON with its "@type". */
export type TypedConfigJson = { "@type": string } & Record<string, unknown>;

/** An HTTP filter of a listener: its config inline, or fetched over ECDS from the group's extension config. */
export type HttpFilterConfig = { name: string; config: TypedConfigJson } | { extension_config: string };

/** A TypedExtensionConfig served over ECDS (`extension_configs:`). */
export interface ExtensionConfigEntry {
  name: string;
  config: TypedConfigJson;
}

/**
 * A value of the runtime layer (`runtime:`), as Envoy's RTDS layer takes a google.protobuf.Struct: a mapping is
 * more keys below this one (`{a: {b: 1}}` is `a.b: 1`); Envoy refuses lists and null.
 */
export type RuntimeValue = string | number | boolean | { [key: string]: RuntimeValue };

/** The name of the Runtime resource `runtime:` becomes, and of its layer in bootstraps. */
export const runtimeName = "xdsd";

/** A scope (ScopedRouteConfiguration, over SRDS): requests whose scope header is `key` use its route table. */
export interface ScopeConfig {
  name: string;
  key: string;
  /** Its own route table: the RouteConfiguration named after the scope. */
  virtual_hosts?: VirtualHostConfig[];
  /** Or an existing RouteConfiguration (a listener's, a raw one). */
  route_config_name?: string;
}

/** `30s`, `1.5s` (schema definitions.ttl and the validator's ttlError have checked it) → milliseconds. */
export function ttlMsOf(text: string | undefined): number | undefined {
  return durationMs(text);
}

/** How a group's nodes fetch the resources that clusters and listeners refer to (schema: config_source). */
export const configSourceKinds = ["ads", "grpc", "delta-grpc", "rest"] as const;
export type ConfigSourceKind = (typeof configSourceKinds)[number];

/**
 * An xDS-enabled gRPC server's listener (gRFC A36): the server asks for the Listener named by its bootstrap's
 * `server_listener_resource_name_template` with the address it binds, and serves what its filter chain says.
 */
export interface GrpcServerConfig {
  /** The IP address the server binds, written as it binds it (its listener's name and socket_address carry it). */
  address: string;
  port: number;
  route_config_name?: string;
  /** The listener expires at the server this long after xdsd stops refreshing it (xDS TTL). */
  ttl?: string;
}

/**
 * The template `xdsd bootstrap --grpc` writes as `server_listener_resource_name_template`, and the names of the
 * listeners `grpc_servers` become: the one place both read (gRFC A36 names the listener by the bound address).
 */
export const grpcServerListenerNameTemplate = "grpc/server?xds.resource.listening_address=%s";

/** The Listener an xDS-enabled gRPC server bound to address:port asks for ("[v6]:port" for IPv6, as gRPC writes it). */
export function grpcServerListenerName(address: string, port: number): string {
  const listening = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  return grpcServerListenerNameTemplate.replace("%s", listening);
}

/** Whether a Listener is one an xDS-enabled gRPC server asks for: not Envoy's to bind. */
export function isGrpcServerListenerName(name: string): boolean {
  return name.startsWith(grpcServerListenerNameTemplate.slice(0, grpcServerListenerNameTemplate.indexOf("%s")));
}

/** The RouteConfiguration a gRPC server listener gets. */
export function grpcServerRouteConfigNameOf(server: GrpcServerConfig): string {
  return server.route_config_name ?? grpcServerListenerName(server.address, server.port);
}

/** The part of a config that one node group (or the top level) gets. */
export interface GroupConfig {
  clusters?: ClusterConfig[];
  listeners?: ListenerConfig[];
  grpc_servers?: GrpcServerConfig[];
  resources?: Record<string, unknown>[];
  config_source?: ConfigSourceKind;
  /** Runtime keys (RTDS): one Runtime resource, `runtimeName`. */
  runtime?: Record<string, RuntimeValue>;
  /** Filter configs served over ECDS. */
  extension_configs?: ExtensionConfigEntry[];
  /** Route scopes (SRDS), for the group's listeners with a scope_header. */
  scopes?: ScopeConfig[];
  /** Who may be served the group, with client certificates (cache/identity-patterns.ts; readersOf). */
  identities?: string[];
  /** TLS certificates and validation contexts (SDS), for the group's listeners' and clusters' `tls`. */
  secrets?: SecretEntry[];
}

/** The static cluster through which a bootstrap reaches xdsd; config clusters must not use the name. */
export const xdsClusterName = "xds_cluster";

export interface FileConfig extends GroupConfig {
  nodes?: Record<string, GroupConfig>;
}

/**
 * The identities a group's config may be served to (cache/identity-patterns.ts): its own `identities`, else the
 * top level's, else undefined (every client with a valid certificate). A group inherits the top level's list so
 * that a group added to a locked-down config is locked down too: forgetting the key never opens it.
 */
export function readersOf(group: GroupConfig, top: GroupConfig): readonly string[] | undefined {
  return group.identities ?? top.identities;
}

export const defaultConnectTimeout = "5s";
export const defaultListenerAddress = "0.0.0.0";

/**
 * The RouteConfiguration a short-form listener defines; undefined for one that routes by scope (`scope_header`),
 * which has none of its own. What the translation, the validator and the merge into the store's objects read.
 */
export function routeConfigNameOf(listener: Pick<ListenerConfig, "name" | "route_config_name" | "scope_header">): string | undefined {
  return listener.scope_header !== undefined ? undefined : (listener.route_config_name ?? listener.name);
}

/** The RouteConfiguration a scope names: its own (named after it) or the one it points at. */
export function scopeRouteConfigNameOf(scope: ScopeConfig): string {
  return scope.route_config_name ?? scope.name;
}
