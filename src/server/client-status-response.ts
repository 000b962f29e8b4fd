// The answer to a Client Status Discovery Service request (envoy.service.status.v3, "CSDS"): for every connected
// client whose node matches, per resource of every type it asked for, the version it was sent, when, and where it
// stands — from xdsd's side (config_status: SYNCED, STALE while a response awaits its ACK, ERROR after a NACK,
// NOT_SENT) and as the client holds it (client_status: ACKED, NACKED with the error, REQUESTED, DOES_NOT_EXIST).
// Read from the client state every protocol keeps (client-status.ts), the same record /nodes shows.
//
// `version_info` is the version of the response of that type that last carried the resource (the DiscoveryResponse's
// `version_info`, what Envoy's /config_dump shows per type), so CSDS and a proxy's own dump can be compared.
// `xds_config` is the resource as xdsd serves it now when the client holds that version, unless the request says
// `exclude_resource_contents` — and never for secrets: key material is not shown (the resource is listed, bare).
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describeNode } from "../cache/node-hash.js";
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import { ClientResourceStatus } from "../gen/envoy/admin/v3/config_dump_shared_pb.js";
import {
  ClientStatusResponseSchema,
  ConfigStatus,
  type ClientConfig_GenericXdsConfig,
  type ClientStatusRequest,
  type ClientStatusResponse,
} from "../gen/envoy/service/status/v3/csds_pb.js";
import { TypeUrl } from "../resource/type-urls.js";
import type { ClientTypeState } from "./client-state.js";
import type { ClientStatusReader } from "./client-status.js";
import { nodeMatches } from "./node-matcher.js";

type GenericConfig = Omit<ClientConfig_GenericXdsConfig, "$typeName" | "$unknown">;

/** Types whose resource contents are never shown (key material). */
export const contentsNeverShown: ReadonlySet<string> = new Set([TypeUrl.Secret]);

export function clientStatusResponse(reader: ClientStatusReader, source: SnapshotSource, request: ClientStatusRequest): ClientStatusResponse {
  const byNode = new Map<string, { node: Node; configs: Map<string, GenericConfig> }>();
  for (const client of reader.clients()) {
    const node = client.info.node;
    if (!node || !request.nodeMatchers.every((m) => nodeMatches(m, node))) continue;
    const id = describeNode(node);
    let entry = byNode.get(id);
    if (!entry) byNode.set(id, (entry = { node, configs: new Map() }));
    const snapshot = client.info.nodeKey === undefined ? undefined : source.snapshotFor(client.info.nodeKey);
    for (const state of client.types()) {
      for (const config of resourceConfigs(state, snapshot?.resources(state.type.typeUrl), request.excludeResourceContents)) {
        const key = `${config.typeUrl}\u0000${config.name}`;
        const had = entry.configs.get(key);
        // A node with several streams of a type (EDS without ADS: one per cluster): the latest word on a resource.
        if (!had || Number(had.lastUpdated?.seconds ?? 0) <= Number(config.lastUpdated?.seconds ?? 0)) entry.configs.set(key, config);
      }
    }
  }
  return create(ClientStatusResponseSchema, {
    config: [...byNode.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, { node, configs }]) => ({
        node,
        genericXdsConfigs: [...configs.values()].sort((a, b) => (a.typeUrl === b.typeUrl ? (a.name < b.name ? -1 : 1) : a.typeUrl < b.typeUrl ? -1 : 1)),
      })),
  });
}

/** One GenericXdsConfig per resource the client was sent or asked for by name. */
function resourceConfigs(
  state: ClientTypeState,
  served: ReadonlyMap<string, { readonly version: string; readonly any: ClientConfig_GenericXdsConfig["xdsConfig"] }> | undefined,
  excludeContents: boolean,
): GenericConfig[] {
  const typeUrl = state.type.typeUrl;
  const nack = state.lastNack;
  const out: GenericConfig[] = [];
  const base = { typeUrl, isStaticResource: false };
  for (const [name, version] of state.sent) {
    const current = served?.get(name);
    const showContents = !excludeContents && !contentsNeverShown.has(typeUrl) && current?.version === version;
    out.push({
      ...base,
      name,
      versionInfo: state.sentVersionInfo,
      xdsConfig: showContents ? current?.any : undefined,
      lastUpdated: state.sentAt === undefined ? undefined : timestampFromMs(state.sentAt),
      ...(nack
        ? {
            configStatus: ConfigStatus.ERROR,
            clientStatus: ClientResourceStatus.NACKED,
            errorState: { details: nack.message, versionInfo: nack.rejectedVersion, lastUpdateAttempt: timestampFromMs(nack.at) },
          }
        : state.awaitingReply
          ? { configStatus: ConfigStatus.STALE, clientStatus: ClientResourceStatus.REQUESTED }
          : { configStatus: ConfigStatus.SYNCED, clientStatus: ClientResourceStatus.ACKED }),
    } as GenericConfig);
  }
  // Names asked for and not sent: not there (yet), or there and on their way.
  for (const name of state.subscription.names) {
    if (name === "*" || state.sent.has(name)) continue;
    out.push({
      ...base,
      name,
      versionInfo: "",
      configStatus: ConfigStatus.NOT_SENT,
      clientStatus: served?.has(name) ? ClientResourceStatus.REQUESTED : ClientResourceStatus.DOES_NOT_EXIST,
    } as GenericConfig);
  }
  return out;
}
