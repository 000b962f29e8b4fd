// Routing by scope (SRDS), issue 21 item 4: a listener with `scope_header` has no route table of its own; for each
// request, Envoy takes the value of that header as a scope key and uses the route table of the scope with that key.
// Envoy subscribes to scopes as a whole, not by name (the registry's SRDS entry), so the scopes are the group's
// (`scopes:`), shared by its scoped listeners, and each names a RouteConfiguration that Envoy then fetches over
// RDS: a change of a scope's route table, or of the table a scope names, moves its traffic live.
import { create } from "@bufbuild/protobuf";
import type { ConfigSource as EnvoyConfigSource } from "../gen/envoy/config/core/v3/config_source_pb.js";
import { ScopedRouteConfigurationSchema, type ScopedRouteConfiguration } from "../gen/envoy/config/route/v3/scoped_route_pb.js";
import { ScopedRoutesSchema, type ScopedRoutes } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { scopeRouteConfigNameOf, type ScopeConfig } from "./model.js";

/**
 * The HTTP connection manager's `scoped_routes` of a listener routing by `header`: the key is the header's whole
 * value (no element_separator, so `index` must be 0: Envoy refuses a HeaderValueExtractor without extract_type),
 * scopes over SRDS and their route tables over RDS, both from `source`.
 */
export function scopedRoutesOf(listenerName: string, header: string, source: EnvoyConfigSource): ScopedRoutes {
  return create(ScopedRoutesSchema, {
    name: listenerName,
    scopeKeyBuilder: { fragments: [{ type: { case: "headerValueExtractor", value: { name: header, extractType: { case: "index", value: 0 } } } }] },
    rdsConfigSource: source,
    configSpecifier: { case: "scopedRds", value: { scopedRdsConfigSource: source } },
  });
}

/** A `scopes` entry: its ScopedRouteConfiguration (its RouteConfiguration, with virtual_hosts, is translateRoutes'). */
export function translateScope(scope: ScopeConfig): ScopedRouteConfiguration {
  return create(ScopedRouteConfigurationSchema, {
    name: scope.name,
    routeConfigurationName: scopeRouteConfigNameOf(scope),
    key: { fragments: [{ type: { case: "stringKey", value: scope.key } }] },
  });
}
