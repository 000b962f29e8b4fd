// Type URLs of the xDS resource types xdsd serves. The registry in ./types.ts describes each one.
const prefix = "type.googleapis.com/";

export const TypeUrl = {
  Cluster: `${prefix}envoy.config.cluster.v3.Cluster`,
  ClusterLoadAssignment: `${prefix}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  Listener: `${prefix}envoy.config.listener.v3.Listener`,
  RouteConfiguration: `${prefix}envoy.config.route.v3.RouteConfiguration`,
  ScopedRouteConfiguration: `${prefix}envoy.config.route.v3.ScopedRouteConfiguration`,
  VirtualHost: `${prefix}envoy.config.route.v3.VirtualHost`,
  Secret: `${prefix}envoy.extensions.transport_sockets.tls.v3.Secret`,
  Runtime: `${prefix}envoy.service.runtime.v3.Runtime`,
  ExtensionConfig: `${prefix}envoy.config.core.v3.TypedExtensionConfig`,
} as const;

export type KnownTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** `type.googleapis.com/envoy.config.cluster.v3.Cluster` -> `Cluster`: how messages name a type to a person. */
export function simpleNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}

/** `type.googleapis.com/a.b.C` -> `a.b.C`. */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}
