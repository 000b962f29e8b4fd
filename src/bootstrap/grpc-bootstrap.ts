// gRPC xDS bootstrap files: what a proxyless gRPC client (`xds:///NAME`) or an xDS-enabled gRPC server (gRFC A36)
// reads from GRPC_XDS_BOOTSTRAP to find xdsd. JSON, as gRFC A27 defines it:
//  - xds_servers: xdsd's address, or every replica's in order (issue 20). What a client does with a list is its own:
//    a client with gRFC A71 (xDS fallback; on by default in gRPC Go from 1.70, grpc-go#7949) tries the next server
//    only while the first is unreachable and a resource is not cached yet, and goes back to the first; a running
//    client that loses its server keeps its cached config and reconnects to that server. @grpc/grpc-js-xds 1.14
//    reads only the first (xds-client.js: xdsServers[0]). A client follows a dead replica's successor only when
//    one server_uri names them all (a DNS name with every replica's address). channel_creds "insecure", or "tls" (gRFC A65) when CA, certificate and key files
//    are given. Clients take the first channel_creds type they support and fail when none is, so TLS is never
//    followed by "insecure" (that would downgrade a client that lacks "tls" in silence). "tls" is in gRPC C-core
//    (and so grpcio), Java and Go; @grpc/grpc-js-xds 1.14 supports only "insecure" and "google_default".
//  - node: id, cluster and locality (grpc-js-xds requires `locality`, an empty one will do).
//  - server_listener_resource_name_template: the Listener name an xDS-enabled server asks for, with %s its bound
//    address (model.ts grpcServerListenerNameTemplate, the names the config's grpc_servers get).
import { BadArgumentError } from "../errors.js";
import type { LoadedConfig } from "../config/load.js";
import { grpcServerListenerNameTemplate, localityKeys, type LocalityConfig } from "../config/model.js";
import { formatHostPort } from "../config/address.js";
import { checkNodeAndPorts, checkTlsPair, configSourceMismatch, groupOf, xdsServerList, type BootstrapTls, type XdsServerAddress } from "./bootstrap.js";

export interface GrpcBootstrapOptions {
  /** The config xdsd serves: when given, the node's group must fetch over ADS (the only way gRPC fetches). */
  config?: LoadedConfig;
  nodeId: string;
  nodeCluster: string;
  /** Where xdsd listens for xDS: one address, or every replica's, in the order clients should try them. */
  xds: XdsServerAddress | readonly XdsServerAddress[];
  locality?: LocalityConfig;
  /** Reach xdsd over TLS ("tls" channel creds): paths on the gRPC process's machine. */
  tls?: BootstrapTls;
}

/** A gRPC xDS bootstrap, as JSON text. */
export function renderGrpcBootstrap(opts: GrpcBootstrapOptions): string {
  const { config, nodeId, nodeCluster, tls } = opts;
  const xds = xdsServerList(opts.xds);
  checkNodeAndPorts(nodeId, xds);
  const { groupKey, fetched } = groupOf(config, nodeCluster, nodeId);
  // gRFC A27: a gRPC client takes only `ads` (or `self`) config sources; every resource names where its parts come
  // from, so the group must say ads.
  if (fetched !== "ads") throw new BadArgumentError(configSourceMismatch("--grpc", "ads", config?.file, groupKey, fetched));
  if (tls?.sni !== undefined) {
    throw new BadArgumentError(
      "bootstrap: --grpc takes no --tls-sni: gRPC checks xdsd's certificate against the host of --xds (server_uri); give --xds the name (or IP address) xdsd's certificate carries",
    );
  }
  if (tls) checkTlsPair(tls, "the gRPC process's");
  const channelCreds = tls
    ? {
        type: "tls",
        config: { ca_certificate_file: tls.ca, ...(tls.cert && tls.key ? { certificate_file: tls.cert, private_key_file: tls.key } : {}) },
      }
    : { type: "insecure" };
  const bootstrap = {
    xds_servers: xds.map(({ host, port }) => ({ server_uri: formatHostPort(host, port), channel_creds: [channelCreds], server_features: ["xds_v3"] })),
    node: { id: nodeId, cluster: nodeCluster, locality: opts.locality ?? {} },
    server_listener_resource_name_template: grpcServerListenerNameTemplate,
  };
  return `${JSON.stringify(bootstrap, null, 2)}\n`;
}

/** `--locality zone=us-east-1a,region=us-east-1` → the node's locality (keys as in the config's `locality`). */
export function parseLocality(text: string): LocalityConfig {
  const locality: LocalityConfig = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim() as (typeof localityKeys)[number];
    if (eq < 0 || !localityKeys.includes(key)) {
      throw new BadArgumentError(
        `--locality "${text}": expected KEY=VALUE pairs separated by commas, each KEY one of ${localityKeys.join(", ")} (e.g. zone=us-east-1a)`,
      );
    }
    if (locality[key] !== undefined) throw new BadArgumentError(`--locality "${text}": ${key} is given twice`);
    locality[key] = part.slice(eq + 1).trim();
  }
  return locality;
}
