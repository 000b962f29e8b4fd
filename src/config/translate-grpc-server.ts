// The short form of an xDS-enabled gRPC server's listener (gRFC A36) -> Envoy v3 messages. Input has passed the
// schema and the semantic checks (validate.ts grpcServer). docs/config.md "gRPC servers" says what an entry becomes.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema, RdsSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { grpcServerListenerName, grpcServerRouteConfigNameOf, type GrpcServerConfig } from "./model.js";
import { adsConfigSource, httpConnectionManager, httpConnectionManagerFilter, socketAddress } from "./translate.js";

/** The virtual host of a gRPC server's route configuration: every authority the server is called by. */
export const grpcServerVirtualHost = "grpc_server";

/**
 * A gRPC server's Listener and RouteConfiguration. gRFC A36: the server accepts the Listener only if its
 * socket_address is the address and port it bound; each filter chain has exactly one filter, the HTTP connection
 * manager, with the router filter last, and routes over RDS from ADS (or inline); a server route must carry
 * `non_forwarding_action` — any other action fails the RPCs it matches with UNAVAILABLE. One filter chain with no
 * filter_chain_match takes every connection. The virtual host matches every authority ("*"), and the route every
 * method (prefix "").
 */
export function translateGrpcServer(config: GrpcServerConfig): { listener: Listener; routes: RouteConfiguration } {
  const name = grpcServerListenerName(config.address, config.port);
  const routeConfigName = grpcServerRouteConfigNameOf(config);
  // gRPC clients fetch over ADS only (validate.ts refuses grpc_servers in a group whose config_source is not ads).
  const hcm = httpConnectionManager(name, { case: "rds", value: create(RdsSchema, { routeConfigName, configSource: adsConfigSource() }) }, []);
  const listener = create(ListenerSchema, {
    name,
    address: socketAddress(config.address, config.port),
    filterChains: [{ filters: [{ name: httpConnectionManagerFilter, configType: { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, hcm) } }] }],
  });
  const routes = create(RouteConfigurationSchema, {
    name: routeConfigName,
    virtualHosts: [
      {
        name: grpcServerVirtualHost,
        domains: ["*"],
        routes: [{ match: { pathSpecifier: { case: "prefix", value: "" } }, action: { case: "nonForwardingAction", value: {} } }],
      },
    ],
  });
  return { listener, routes };
}
