// xdsd as a library: an xDS control plane for Envoy and proxyless gRPC in TypeScript.
//
//   cache    SnapshotCache / Snapshot: what each node group is served; setSnapshot pushes to every watcher.
//   server   XdsServer (or addXdsServices on your own grpc-js server): the SotW protocol over gRPC.
//   config   parseConfig / loadConfigFile: the daemon's YAML format → Envoy resources; shorthand builders.
//   resource the registry of xDS types; the generated Envoy message types are subpaths, xdsd/envoy/config/cluster/v3/cluster_pb
export { SnapshotCache, type SnapshotCacheOptions, type SnapshotSource, type SnapshotListener } from "./cache/snapshot-cache.js";
export { Snapshot, versionOfSet } from "./cache/snapshot.js";
export { clusterSlashId, describeNode, type NodeHash } from "./cache/node-hash.js";

export { XdsServer, type XdsServerOptions } from "./server/xds-server.js";
export { addXdsServices } from "./server/transport/grpc-js-transport.js";
export { XdsCalls, type XdsServiceOptions, type TransportCall } from "./server/calls.js";
export { xdsServices } from "./server/services.js";
export { sotwServices } from "./server/protocol/sotw-service.js";
export { deltaServices } from "./server/protocol/delta-service.js";
export { restServices } from "./server/protocol/rest-service.js";
export { DeltaStream, type DeltaStreamOptions } from "./server/protocol/delta-stream.js";
export type { DeltaResponse } from "./server/protocol/delta-response.js";
export type { XdsService, ServiceContext, ProtocolStream, CallKind, CallReply } from "./server/service-table.js";
export { TlsCredentials, type TlsFiles } from "./server/transport/tls-credentials.js";
export { authorizeByIdentities, type NodeAuthorizer } from "./server/authorization.js";
export { IdentityMatcher, identityPatternError } from "./cache/identity-patterns.js";
export type { WireResponse } from "./server/transport/wire-response.js";
export { GrpcStatus } from "./grpc-status.js";
export { SotwStream, type SotwStreamOptions } from "./server/protocol/sotw-stream.js";
export { combineEvents, type XdsServerEvents, type StreamInfo, type NackInfo } from "./server/observers/events.js";
export { NodeStatuses, type NodeStatus, type NodeStatusPage, type TypeStatus } from "./server/node-status.js";
export { allClients, type ClientRecord, type ClientStatusReader } from "./server/client-status.js";
export { loggingEvents } from "./server/observers/log-events.js";
export { XdsdMetrics, type XdsdMetricsOptions } from "./daemon/metrics.js";
export type { SotwResponse } from "./server/protocol/sotw-response.js";

export { resourceTypes, findResourceType, resourceType, type ResourceType, type ResourceReference } from "./resource/types.js";
export { TypeUrl } from "./resource/type-urls.js";
export { encodeResource, typeUrlOf, withTtl, type EncodedResource } from "./resource/encoded-resource.js";
export { envoyRegistry } from "./resource/proto-registry.js";

export { parseConfig, loadConfigFile, type ConfigResource, type LoadedConfig } from "./config/index.js";
export { renderBootstrap, type BootstrapOptions } from "./bootstrap/bootstrap.js";
export { renderGrpcBootstrap, type GrpcBootstrapOptions } from "./bootstrap/grpc-bootstrap.js";
export { snapshotsOf, publish, type ConfigSnapshots } from "./config/snapshots.js";
export { translateCluster, translateEndpoints, translateListener, translateRoutes } from "./config/translate.js";
export type { ClusterConfig, EndpointConfig, ListenerConfig, VirtualHostConfig, RouteConfig } from "./config/model.js";

export { consoleLogger, silentLogger, type Logger } from "./log.js";
export * from "./errors.js";
