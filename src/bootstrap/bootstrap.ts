// Envoy bootstrap files that point an Envoy at xdsd. The static parts are the very messages the config translates
// to (printed with protobuf-es toJson), adjusted for where they live, so a bootstrap can never drift from what
// xdsd serves. Two shapes:
//  - "ads": everything dynamic over one ADS stream; the bootstrap only says who the node is and where xdsd is.
//  - "delta-ads": the same over one incremental ADS stream (DeltaAggregatedResources): the resources are the same,
//    since their config sources say `ads`, and the bootstrap's ADS config says which protocol ADS speaks.
//  - "xds", "delta": everything dynamic, one gRPC stream per type (state of the world, incremental): the node's
//    group must say `config_source: grpc` / `delta-grpc`, so that its clusters and listeners send Envoy to the
//    same kind of stream for their endpoints and routes.
//  - "rest": everything dynamic, polled over REST-JSON (HTTP/1.1 POSTs to /v3/discovery:*); the group must say
//    `config_source: rest`. The xds_cluster then speaks HTTP/1.1: nothing in this mode needs gRPC.
//  - "eds": the classic control-plane demo: listeners (routes inline) and clusters are static, only endpoints are
//    dynamic, fetched with the per-type EndpointDiscoveryService (not ADS).
import { defaultEnvoyAdminPort } from "../default-ports.js";
import { dirname } from "node:path";
import { isIP } from "node:net";
import { clone, create, toJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { anyIs, anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Document } from "yaml";
import { BadArgumentError } from "../errors.js";
import { BootstrapSchema, type LayeredRuntimeSchema } from "../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import {
  ApiConfigSource_ApiType,
  ApiVersion,
  ConfigSourceSchema,
  type ConfigSource as EnvoyConfigSource,
} from "../gen/envoy/config/core/v3/config_source_pb.js";
import { EndpointSchema } from "../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { ListenerSchema, type Listener } from "../gen/envoy/config/listener/v3/listener_pb.js";
import type { FilterChain } from "../gen/envoy/config/listener/v3/listener_components_pb.js";
import type { RouteConfiguration } from "../gen/envoy/config/route/v3/route_pb.js";
import { HttpConnectionManagerSchema } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { envoyRegistry } from "../resource/proto-registry.js";
import { UpstreamTlsContextSchema } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { SubjectAltNameMatcher_SanType } from "../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { TypeUrl } from "../resource/type-urls.js";
import { fetchedOnDemand, resourceType } from "../resource/types.js";
import type { ConfigResource, LoadedConfig } from "../config/load.js";
import { formatHostPort } from "../config/address.js";
import { tlsTransportSocketName } from "../config/secrets.js";
import { adsConfigSource, configSourceFor, duration, grpcApiConfigSource, http2ProtocolOptions, socketAddress } from "../config/translate.js";
import { isGrpcServerListenerName, xdsClusterName, type ConfigSourceKind } from "../config/model.js";

export const bootstrapModes = ["eds", "ads", "delta-ads", "xds", "delta", "rest"] as const;
export type BootstrapMode = (typeof bootstrapModes)[number];

/** The config_source a mode needs the node's group to have (eds mode writes its own config sources). */
const sourceOfMode: Record<BootstrapMode, ConfigSourceKind | undefined> = {
  eds: undefined,
  ads: "ads",
  "delta-ads": "ads",
  xds: "grpc",
  delta: "delta-grpc",
  rest: "rest",
};
const modeWords: Record<BootstrapMode, string> = {
  eds: "EDS",
  ads: "ADS",
  "delta-ads": "incremental (delta) ADS",
  xds: "one gRPC stream per type",
  delta: "one incremental (delta) gRPC stream per type",
  rest: "REST-JSON polls (HTTP/1.1)",
};

export interface BootstrapOptions {
  /** The config xdsd serves (eds mode takes its listeners and clusters); the other modes only check the node's
   *  group against it, and need none. */
  config?: LoadedConfig;
  nodeId: string;
  nodeCluster: string;
  /** Where xdsd listens for xDS: one address, or every replica's (issue 20), all in the bootstrap's xds_cluster. */
  xds: XdsServerAddress | readonly XdsServerAddress[];
  mode: BootstrapMode;
  /** Overrides the port of the first static listener (eds mode); handy for tests that need a free port. */
  listenPort?: number;
  /** Envoy's admin port, on 127.0.0.1. Default defaultEnvoyAdminPort (9901). */
  adminPort?: number;
  /** Connect to xdsd over TLS (mutual TLS with a client certificate), as `xdsd serve --xds-tls-*` serves it. */
  tls?: BootstrapTls;
  /** Report load to xdsd (LRS): the cluster manager's load_stats_config on the xds_cluster. */
  lrs?: boolean;
}

/** Where one xdsd (replica) listens for xDS. */
export interface XdsServerAddress {
  host: string;
  port: number;
}

/** `xds` as a list: one address or several replicas'. */
export function xdsServerList(xds: XdsServerAddress | readonly XdsServerAddress[]): readonly XdsServerAddress[] {
  return "host" in xds ? [xds] : xds;
}

/** The files Envoy reads to reach xdsd over TLS: paths on Envoy's machine. */
export interface BootstrapTls {
  /** CA certificates that xdsd's certificate must chain to. */
  ca: string;
  /** Envoy's client certificate and key, for mutual TLS (both or neither). */
  cert?: string;
  key?: string;
  /** The name xdsd's certificate must carry (SNI and SAN check); default: the --xds host when it is a name. */
  sni?: string;
  /**
   * An SDS file (clientCertificateSds writes it) through which Envoy takes `cert` and `key`, so that it rereads
   * them when they are rotated: Envoy watches files only for secrets it gets over SDS, never for a bootstrap's
   * inline tls_certificates (TlsCertificate.watched_directory: "only applies when a TlsCertificate is delivered by
   * SDS"), which it reads once at start.
   */
  certSds?: string;
}

/** The SDS secret through which Envoy takes its client certificate for xdsd (BootstrapTls.certSds). */
export const xdsClientCertificateSecret = "xds_client_certificate";

/**
 * The SDS file of BootstrapTls.certSds: a DiscoveryResponse (JSON, which Envoy reads whatever the file's extension
 * of .json or .yaml) with one Secret naming the certificate and key files. Envoy rereads both together when a file
 * is moved into the certificate's directory (watched_directory; a rename, as `mv` or Kubernetes' ..data symlink
 * swap does), and only takes a pair whose key matches the certificate: rotate by moving the new key, then the new
 * certificate, into place.
 */
export function clientCertificateSds(tls: BootstrapTls): string {
  if (tls.cert === undefined || tls.key === undefined)
    throw new BadArgumentError("bootstrap: --tls-cert-sds needs --tls-cert and --tls-key: the files it names");
  const secret = {
    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    name: xdsClientCertificateSecret,
    tls_certificate: {
      certificate_chain: { filename: tls.cert },
      private_key: { filename: tls.key },
      watched_directory: { path: dirname(tls.cert) },
    },
  };
  return `${JSON.stringify({ resources: [secret] }, null, 2)}\n`;
}

export { xdsClusterName };

/**
 * Why the node's config does not suit `mode`, and what to write where (issue 18, item 19): the config's resources
 * name where their endpoints and routes come from, so the mode follows the file, not the other way round.
 */
export function configSourceMismatch(flag: string, needed: ConfigSourceKind, file: string | undefined, groupKey: string, has: ConfigSourceKind): string {
  const setting = `\`config_source: ${needed}\``;
  const why = `bootstrap: ${flag} needs the node's config to say config_source: ${needed}`;
  if (file === undefined) {
    return `${why}; without --config there is no config (so ${has}): pass --config with the file xdsd serves, and write ${setting} at its top level (or in the node's group under nodes:)`;
  }
  const where = groupKey ? `the node's group "${groupKey}" (under nodes:) in ${file}` : `the top level of ${file}`;
  return `${why}, but ${where} has config_source: ${has}${has === "ads" ? " (the default)" : ""}: write ${setting} there`;
}

/**
 * What every bootstrap (Envoy's, gRPC's) needs to make sense: a node id, at least one xdsd address, each once, with
 * a host and a port that is a port.
 */
export function checkNodeAndPorts(nodeId: string, xds: readonly XdsServerAddress[], ports: Record<string, number | undefined> = {}): void {
  if (!nodeId) throw new BadArgumentError("bootstrap: nodeId must not be empty");
  if (xds.length === 0) throw new BadArgumentError("bootstrap: xds must name at least one xdsd address (HOST:PORT)");
  const at = (i: number) => (xds.length === 1 ? "xds" : `xds[${i}]`);
  const xdsPorts = Object.fromEntries(xds.map((a, i) => [`${at(i)}.port`, a.port]));
  for (const [what, port] of Object.entries({ ...xdsPorts, ...ports })) {
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new BadArgumentError(`bootstrap: ${what} must be a port number from 1 to 65535, got ${port}`);
    }
  }
  const seen = new Set<string>();
  xds.forEach((a, i) => {
    if (!a.host) throw new BadArgumentError(`bootstrap: ${at(i)}.host must not be empty`);
    const key = formatHostPort(a.host, a.port);
    if (seen.has(key)) throw new BadArgumentError(`bootstrap: xds names ${key} twice; list each replica once`);
    seen.add(key);
  });
}

/** The node's group in `config`: the node hash is cluster/id by default; a node in a group gets that group's config and nothing else. */
export function groupOf(config: LoadedConfig | undefined, nodeCluster: string, nodeId: string) {
  const groupKey = config?.nodes.has(`${nodeCluster}/${nodeId}`) ? `${nodeCluster}/${nodeId}` : "";
  const resources = config?.nodes.get(groupKey) ?? config?.defaults ?? [];
  const fetched: ConfigSourceKind = config?.configSources.get(groupKey) ?? "ads";
  return { groupKey, resources, fetched };
}

/** The client certificate and its key go together. */
export function checkTlsPair(tls: BootstrapTls, whose: string): void {
  if ((tls.cert === undefined) !== (tls.key === undefined))
    throw new BadArgumentError(`bootstrap: --tls-cert and --tls-key go together: ${whose} certificate and its private key`);
}

/** An Envoy 1.40 bootstrap, as YAML. */
export function renderBootstrap(opts: BootstrapOptions): string {
  const { config, nodeId, nodeCluster, mode } = opts;
  const xds = xdsServerList(opts.xds);
  const adminPort = opts.adminPort ?? defaultEnvoyAdminPort;
  checkNodeAndPorts(nodeId, xds, { adminPort, listenPort: opts.listenPort });

  const { groupKey, resources, fetched } = groupOf(config, nodeCluster, nodeId);
  const needed = sourceOfMode[mode];
  if (needed && fetched !== needed) throw new BadArgumentError(configSourceMismatch(`--mode ${mode}`, needed, config?.file, groupKey, fetched));
  // Clusters and virtual hosts on demand are fetched over incremental ADS only (validate.ts needsIncrementalAds):
  // over state-of-the-world ADS Envoy rejects a route configuration with vhds, and its on-demand CDS takes no
  // state-of-the-world update.
  const onDemand = mode === "delta-ads" ? undefined : resources.find((r) => fetchedOnDemand(r.typeUrl, r.message));
  if (onDemand) {
    throw new BadArgumentError(
      `bootstrap: --mode ${mode}: the config serves ${onDemand.typeUrl === TypeUrl.Cluster ? `cluster "${onDemand.name}" on demand` : `route configuration "${onDemand.name}" with virtual hosts on demand (vhds)`}, which Envoy fetches over incremental ADS only; use --mode delta-ads`,
    );
  }
  // eds mode makes the group's listeners and clusters static, with no ADS stream: a secret they fetch over SDS from
  // ADS would never come (Envoy refuses an ADS config source without ads_config).
  const overSds =
    mode === "eds"
      ? resources.find((r) =>
          resourceType(r.typeUrl)
            .referencesOf(r.message)
            .some((ref) => ref.typeUrl === TypeUrl.Secret),
        )
      : undefined;
  if (overSds) {
    throw new BadArgumentError(
      `bootstrap: --mode eds: ${overSds.typeUrl === TypeUrl.Listener ? "listener" : "cluster"} "${overSds.name}" gets its TLS secrets over SDS, which eds mode's static listeners and clusters cannot fetch; use --mode ads or delta-ads`,
    );
  }
  if (resources.some((r) => r.typeUrl === TypeUrl.Cluster && r.name === xdsClusterName)) {
    throw new BadArgumentError(`bootstrap: the config defines a cluster named "${xdsClusterName}", a name the bootstrap reserves for xdsd itself`);
  }

  // LRS is a gRPC stream: a rest-mode bootstrap's xds_cluster speaks HTTP/1.1 only.
  if (opts.lrs && mode === "rest")
    throw new BadArgumentError("bootstrap: --lrs reports load over gRPC, and --mode rest reaches xdsd over HTTP/1.1 only; use another mode");
  const xdsServer = create(ConfigSourceSchema, {
    configSourceSpecifier: { case: "apiConfigSource", value: grpcApiConfigSource(ApiConfigSource_ApiType.GRPC) },
    resourceApiVersion: ApiVersion.V3,
  });
  const staticListeners = mode === "eds" ? inlineListeners(resources, opts.listenPort) : [];
  const staticClusters = mode === "eds" ? edsClusters(resources, xdsServer) : [];

  const bootstrap = create(BootstrapSchema, {
    layeredRuntime: layeredRuntime(resources, mode === "eds" ? xdsServer : configSourceFor(fetched)),
    node: { id: nodeId, cluster: nodeCluster },
    admin: { address: socketAddress("127.0.0.1", adminPort) },
    // Every cluster's load to xdsd, at the interval xdsd's first LRS response says (xdsd serve --lrs-interval).
    clusterManager: opts.lrs ? { loadStatsConfig: grpcApiConfigSource(ApiConfigSource_ApiType.GRPC) } : undefined,
    staticResources: { listeners: staticListeners, clusters: [xdsCluster(xds, mode !== "rest", opts.tls), ...staticClusters] },
    dynamicResources:
      mode === "eds"
        ? undefined
        : mode === "xds" || mode === "delta" || mode === "rest"
          ? { cdsConfig: configSourceFor(fetched), ldsConfig: configSourceFor(fetched) }
          : {
              adsConfig: grpcApiConfigSource(mode === "delta-ads" ? ApiConfigSource_ApiType.DELTA_GRPC : ApiConfigSource_ApiType.GRPC),
              cdsConfig: adsConfigSource(),
              ldsConfig: adsConfigSource(),
            },
  });
  const doc = new Document(typeFirst(toJson(BootstrapSchema, bootstrap, { registry: envoyRegistry(), useProtoFieldName: true })));
  doc.commentBefore =
    ` Envoy bootstrap generated by xdsd for node "${nodeId}" (cluster "${nodeCluster}"), mode ${mode}: ` +
    (mode === "eds" ? "static listeners and clusters, endpoints over EDS." : `listeners, routes, clusters and endpoints come over ${modeWords[mode]}.`) +
    (opts.lrs ? " Load reported to xdsd (LRS)." : "");
  return doc.toString({ lineWidth: 0 });
}

/** Envoy's own layers when a bootstrap has no layered_runtime (server.cc): a static layer, and the admin layer last. */
const baseLayer = "base";
const adminLayer = "admin";

/**
 * The runtime of a node whose group serves Runtime resources (issue 21 item 4): Envoy reads one only as a layer its
 * bootstrap names (RtdsLayer), and waits for each such layer before it starts (its initial fetch), so a config
 * without Runtime resources keeps Envoy's default runtime. One RTDS layer per Runtime, named after it, in the
 * config's order (a later layer overrides an earlier one), between Envoy's default layers: the admin layer stays
 * last, so /runtime_modify still overrides everything.
 */
function layeredRuntime(resources: readonly ConfigResource[], source: EnvoyConfigSource): MessageInitShape<typeof LayeredRuntimeSchema> | undefined {
  const names = resources.filter((r) => r.typeUrl === TypeUrl.Runtime).map((r) => r.name);
  if (names.length === 0) return undefined;
  const clash = names.find((n) => n === baseLayer || n === adminLayer);
  if (clash) {
    throw new BadArgumentError(
      `bootstrap: the config serves a Runtime named "${clash}", the name of one of Envoy's own runtime layers ("${baseLayer}", "${adminLayer}"); rename it`,
    );
  }
  return {
    layers: [
      { name: baseLayer, layerSpecifier: { case: "staticLayer", value: {} } },
      ...names.map((name) => ({ name, layerSpecifier: { case: "rtdsLayer" as const, value: { name, rtdsConfig: source } } })),
      { name: adminLayer, layerSpecifier: { case: "adminLayer", value: {} } },
    ],
  };
}

// protobuf-es prints an Any's "@type" after its fields; people (and Envoy's docs) expect it first.
function typeFirst(json: JsonValue): JsonValue {
  if (Array.isArray(json)) return json.map(typeFirst);
  if (json === null || typeof json !== "object") return json;
  const out: { [key: string]: JsonValue } = "@type" in json ? { "@type": json["@type"] } : {};
  for (const [k, v] of Object.entries(json)) if (k !== "@type") out[k] = typeFirst(v);
  return out;
}

/**
 * How long Envoy waits for a TCP connection to an xdsd replica: short, so that a replica whose machine is gone
 * (no RST, just silence) costs a fraction of a second before the stream is retried on another one (issue 20).
 */
const xdsConnectTimeout = "0.25s";

// gRPC xDS needs the cluster to speak HTTP/2; REST polls go over HTTP/1.1 (xdsd serves both on its port). A host
// name (e.g. a service name in docker-compose) needs DNS. Every replica is an endpoint: a broken stream is opened
// again (after the retry back-off of grpcApiConfigSource, or at the next REST poll) on the host the round robin
// picks next, and a replica that refused a connection is ejected at once (a local-origin failure, outlier
// detection) so that no retry goes back to it for a while; a replica comes back when the ejection ends.
function xdsCluster(xds: readonly XdsServerAddress[], http2: boolean, tls: BootstrapTls | undefined): Cluster {
  // Several replicas: listed, or behind one name that resolves to each (a headless service).
  const replicas = xds.length > 1 || xds.some((a) => !isIP(a.host));
  return create(ClusterSchema, {
    transportSocket: tls && {
      name: tlsTransportSocketName,
      configType: { case: "typedConfig", value: anyPack(UpstreamTlsContextSchema, upstreamTls(xds, http2, tls)) },
    },
    name: xdsClusterName,
    clusterDiscoveryType: { case: "type", value: xds.every((a) => isIP(a.host)) ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.STRICT_DNS },
    connectTimeout: duration(xdsConnectTimeout),
    loadAssignment: {
      clusterName: xdsClusterName,
      endpoints: [
        {
          lbEndpoints: xds.map(({ host, port }) => ({
            hostIdentifier: { case: "endpoint" as const, value: create(EndpointSchema, { address: socketAddress(host, port) }) },
          })),
        },
      ],
    },
    outlierDetection: replicas
      ? {
          splitExternalLocalOriginErrors: true,
          consecutiveLocalOriginFailure: 1,
          baseEjectionTime: duration("5s"),
          // A dead replica is ejected whatever share of the cluster it is; when all are ejected Envoy uses all.
          maxEjectionPercent: 100,
        }
      : undefined,
    typedExtensionProtocolOptions: http2 ? http2ProtocolOptions() : {},
  });
}

/**
 * TLS to xdsd: its certificate verified against `ca` and the SNI name (Envoy checks the SAN only when told to:
 * match_typed_subject_alt_names), Envoy's own certificate presented for mutual TLS, and ALPN saying which protocol
 * the connection carries — xdsd's TLS port sends "h2" to gRPC and anything else to HTTP/1.1 (tls-listener.ts).
 */
function upstreamTls(xds: readonly XdsServerAddress[], http2: boolean, tls: BootstrapTls) {
  checkTlsPair(tls, "Envoy's");
  const sni = tls.sni ?? tlsServerName(xds);
  const ips = xds.map((a) => a.host).filter((h) => isIP(h));
  return create(UpstreamTlsContextSchema, {
    sni: sni ?? "",
    commonTlsContext: {
      alpnProtocols: [http2 ? "h2" : "http/1.1"],
      tlsCertificates: tls.cert && tls.key && tls.certSds === undefined ? [{ certificateChain: fileSource(tls.cert), privateKey: fileSource(tls.key) }] : [],
      tlsCertificateSdsSecretConfigs:
        tls.certSds === undefined
          ? []
          : [
              {
                name: xdsClientCertificateSecret,
                sdsConfig: { configSourceSpecifier: { case: "pathConfigSource", value: { path: tls.certSds } }, resourceApiVersion: ApiVersion.V3 },
              },
            ],
      validationContextType: {
        case: "validationContext",
        value: {
          trustedCa: fileSource(tls.ca),
          matchTypedSubjectAltNames: sni
            ? [{ sanType: SubjectAltNameMatcher_SanType.DNS, matcher: { matchPattern: { case: "exact", value: sni } } }]
            : // Any replica's address will do: one cluster-wide TLS context serves every replica (they share a CA).
              ips.map((ip) => ({ sanType: SubjectAltNameMatcher_SanType.IP_ADDRESS, matcher: { matchPattern: { case: "exact" as const, value: ip } } })),
        },
      },
    },
  });
}

/**
 * The name Envoy sends (SNI) and checks xdsd's certificate for, without --tls-sni: the --xds host when it is a name;
 * none for IP addresses (the certificate's IP SAN is checked). A TLS context is the cluster's, not a replica's, so
 * replicas by different names (or names and IPs mixed) need the one name they all carry, given with --tls-sni.
 */
function tlsServerName(xds: readonly XdsServerAddress[]): string | undefined {
  const names = [...new Set(xds.map((a) => a.host))].filter((h) => !isIP(h));
  if (names.length === 0) return undefined;
  if (names.length > 1 || names.length < new Set(xds.map((a) => a.host)).size) {
    throw new BadArgumentError(
      `bootstrap: --xds names replicas by different hosts (${xds.map((a) => formatHostPort(a.host, a.port)).join(", ")}), and Envoy's TLS settings are one for all of them: give --tls-sni the name every replica's certificate carries`,
    );
  }
  return names[0];
}

function fileSource(filename: string) {
  return { specifier: { case: "filename" as const, value: filename } };
}

// Static listeners can't use RDS over ADS (there is no ADS in eds mode), so each HTTP connection manager gets
// its RouteConfiguration inline. gRPC API listeners and gRPC servers' listeners are not Envoy's business.
function inlineListeners(resources: ConfigResource[], listenPort: number | undefined): Listener[] {
  const routes = new Map<string, RouteConfiguration>();
  for (const r of resources) if (r.typeUrl === TypeUrl.RouteConfiguration) routes.set(r.name, r.message as RouteConfiguration);
  const listeners: Listener[] = [];
  for (const r of resources) {
    if (r.typeUrl !== TypeUrl.Listener) continue;
    const listener = clone(ListenerSchema, r.message as Listener);
    // A gRPC server's listener (grpc_servers) is for that server to serve, not for Envoy to bind.
    if (!listener.address || isGrpcServerListenerName(listener.name)) continue;
    const chains: FilterChain[] = [...listener.filterChains, ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])];
    for (const filter of chains.flatMap((c) => c.filters)) {
      if (filter.configType.case !== "typedConfig" || !anyIs(filter.configType.value, HttpConnectionManagerSchema)) continue;
      const hcm = anyUnpack(filter.configType.value, HttpConnectionManagerSchema);
      if (hcm?.routeSpecifier.case !== "rds") continue;
      const inline = routes.get(hcm.routeSpecifier.value.routeConfigName);
      if (!inline) continue;
      hcm.routeSpecifier = { case: "routeConfig", value: inline };
      filter.configType = { case: "typedConfig", value: anyPack(HttpConnectionManagerSchema, hcm) };
    }
    if (listeners.length === 0 && listenPort !== undefined && listener.address.address.case === "socketAddress") {
      listener.address.address.value.portSpecifier = { case: "portValue", value: listenPort };
    }
    listeners.push(listener);
  }
  return listeners;
}

// EDS clusters fetch their endpoints from xdsd's EndpointDiscoveryService instead of over ADS.
function edsClusters(resources: ConfigResource[], xdsServer: EnvoyConfigSource): Cluster[] {
  const clusters: Cluster[] = [];
  for (const r of resources) {
    if (r.typeUrl !== TypeUrl.Cluster) continue;
    const cluster = clone(ClusterSchema, r.message as Cluster);
    const source = cluster.edsClusterConfig?.edsConfig?.configSourceSpecifier.case;
    const fromXdsd = source === "ads" || source === "self" || source === undefined;
    if (cluster.edsClusterConfig && fromXdsd) cluster.edsClusterConfig.edsConfig = xdsServer;
    clusters.push(cluster);
  }
  return clusters;
}
