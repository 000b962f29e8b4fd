// What a short-form entry becomes, by name: the xDS resources its translation produces (translate.ts,
// translate-grpc-server.ts, scoped-routes.ts). One rule for the two that need it: the validator defines these
// names (a duplicate is refused where it is written; references resolve against them), and the store overlay
// (merge/store-overlay.ts) keeps a store object from taking a name the file's entries already give a resource.
// The entry may be partly invalid (the validator runs on what the schema refused too): a field of the wrong shape
// defines nothing.
import { TypeUrl } from "../resource/type-urls.js";
import { grpcServerListenerName, routeConfigNameOf } from "./model.js";

export interface DefinedName {
  typeUrl: string;
  name: string;
  /** The entry's field the name is written in. */
  field: string;
}

type Entry = Record<string, unknown>;
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** A cluster: an EDS Cluster and its own ClusterLoadAssignment, both under its name. */
function cluster(c: Entry): DefinedName[] {
  const name = text(c.name);
  if (name === undefined) return [];
  return [
    { typeUrl: TypeUrl.Cluster, name, field: "name" },
    { typeUrl: TypeUrl.ClusterLoadAssignment, name, field: "name" },
  ];
}

/**
 * A listener: its Listener, and its RouteConfiguration (`route_config_name`, else the listener's name) unless it
 * routes by scope. Its on-demand virtual hosts are VirtualHosts named `<route configuration>/<name>`, which the
 * validator defines with the VHDS naming rule (validate.ts onDemandVirtualHost).
 */
function listener(l: Entry): DefinedName[] {
  const name = text(l.name);
  const ownName = text(l.route_config_name);
  const out: DefinedName[] = name === undefined ? [] : [{ typeUrl: TypeUrl.Listener, name, field: "name" }];
  if (name === undefined && ownName === undefined) return out;
  const routes = routeConfigNameOf({ name: name ?? "", route_config_name: ownName, scope_header: text(l.scope_header) });
  if (routes !== undefined) out.push({ typeUrl: TypeUrl.RouteConfiguration, name: routes, field: ownName !== undefined ? "route_config_name" : "name" });
  return out;
}

/** A gRPC server (gRFC A36): the Listener named by the address and port it binds, and its RouteConfiguration. */
function grpcServer(s: Entry): DefinedName[] {
  const address = text(s.address);
  if (address === undefined || typeof s.port !== "number") return [];
  const name = grpcServerListenerName(address, s.port);
  const ownName = text(s.route_config_name);
  return [
    { typeUrl: TypeUrl.Listener, name, field: "port" },
    ownName === undefined
      ? { typeUrl: TypeUrl.RouteConfiguration, name, field: "port" }
      : { typeUrl: TypeUrl.RouteConfiguration, name: ownName, field: "route_config_name" },
  ];
}

/** A scope: its ScopedRouteConfiguration, and with virtual_hosts of its own, a RouteConfiguration named after it. */
function scope(s: Entry): DefinedName[] {
  const name = text(s.name);
  if (name === undefined) return [];
  const out: DefinedName[] = [{ typeUrl: TypeUrl.ScopedRouteConfiguration, name, field: "name" }];
  if (text(s.route_config_name) === undefined && s.virtual_hosts !== undefined) out.push({ typeUrl: TypeUrl.RouteConfiguration, name, field: "name" });
  return out;
}

/** An entry of a list that becomes one resource of its name. */
const named =
  (typeUrl: string) =>
  (e: Entry): DefinedName[] => {
    const name = text(e.name);
    return name === undefined ? [] : [{ typeUrl, name, field: "name" }];
  };

/** Per short-form list, what one of its entries defines. */
export const definedByEntry = {
  clusters: cluster,
  listeners: listener,
  grpc_servers: grpcServer,
  scopes: scope,
  secrets: named(TypeUrl.Secret),
  extension_configs: named(TypeUrl.ExtensionConfig),
} as const satisfies Record<string, (entry: Entry) => DefinedName[]>;
