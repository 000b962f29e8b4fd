// REST-JSON polling (xDS spec, "REST-JSON polling subscriptions"): a client POSTs a DiscoveryRequest as proto3 JSON
// to `/v3/discovery:<type>` (the `google.api.http` path of the type's Fetch method) and gets the state of the world
// for the names it lists: 200 with a DiscoveryResponse, or 304 Not Modified when its `version_info` is current.
// Every poll is a whole request, so this answers it alone; it does no I/O (the transports bring the bytes).
//
// What a poller holds is remembered per (type, node, names asked for), in the per-type client state every protocol shares
// (client-state.ts), so that ACKs and NACKs are recorded as for a stream and rejected content is not sent again:
// - An explicit NACK is a request with `error_detail`, as in gRPC.
// - Envoy's REST client never sends `error_detail` or a nonce (source/extensions/config_subscription/rest/
//   http_subscription_impl.cc keeps only `version_info`, and only updates it when it accepts). So a poll that comes
//   back with the version the client held before the latest 200, rather than the version that 200 carried, is a
//   rejection of it. It is recorded as a NACK, and that content is answered 304 (the client keeps what it has)
//   until the content changes. A poller that holds nothing (`version_info` empty: a fresh start) is always sent
//   the content, so a restarted Envoy is never left empty.
// Pollers are forgotten after `idleMs` without a poll, and the least recently seen are dropped past `maxClients`
// or past `maxBytes` in all: a client that invents node ids cannot make this memory grow without bound (issue 18:
// 2,000 polls with 100 kB ids took 1.46 GB). A node over the limits of node-limits.ts is refused (400) before
// anything is remembered, and a poller keeps only what status shows of its node, not its metadata or extensions.
import { create, fromJsonString, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import type { Snapshot } from "../../cache/snapshot.js";
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import { envoyRegistry } from "../../resource/proto-registry.js";
import { resourceType, type ResourceType } from "../../resource/types.js";
import { NodeLimitError } from "../../errors.js";
import { ClientTypeState, subscribedResources, subscribedVersion } from "../client-state.js";
import { checkNode, nodeIdentity } from "../node-limits.js";
import type { StreamInfo } from "../observers/events.js";
import type { ClientRecord } from "../client-status.js";
import type { PollService, ServiceContext } from "../service-table.js";
import { memoOf } from "../snapshot-memo.js";
import { Subscription } from "../subscription.js";
import { problemContentType, problemDetails, problemText, type ProblemCode } from "../../problem-details.js";
import { defaultTransportLimits } from "../transport/transport-limits.js";

/** An HTTP answer to one poll. */
export interface PollAnswer {
  readonly status: number;
  /** JSON text (a DiscoveryResponse, or problem details); absent for 304. */
  readonly body?: string;
  /** The body's media type: application/json, or application/problem+json for an error. */
  readonly contentType?: string;
}

export interface RestPollOptions {
  /** A poller not heard from for this long is forgotten (default 5 minutes). */
  idleMs?: number;
  /** Pollers remembered at most (default 100,000); past it the least recently seen is forgotten. */
  maxClients?: number;
  /** Bytes the pollers remembered may take in all, as `pollerBytes` counts them (default: transport-limits.ts). */
  maxBytes?: number;
}

/** How long a poller is remembered without a poll, and how many are (docs/limits.md). */
export const defaultRestPollOptions = Object.freeze({ idleMs: 5 * 60_000, maxClients: 100_000 });

/**
 * What one poller is counted for: its bookkeeping here and in the daemon's listeners (status, metrics, rollouts),
 * 3.3 kB of heap measured with short ids, and the strings it is remembered by: its key (type, node key, cluster,
 * id, names), its node key and user agent. Measured with 1,000- and 4,000-character ids, a poller's heap grew by
 * 2 bytes per character of its id; this counts about 4.
 */
function pollerBytes(key: string, info: StreamInfo): number {
  return 3072 + key.length + (info.nodeKey?.length ?? 0) + (info.node?.userAgentName.length ?? 0);
}

/** One poller of one type: its shared per-type state, and what REST adds to it. */
class Poller {
  readonly state: ClientTypeState<Subscription>;
  /** The `version_info` the client polled with when it was sent the latest 200 (what it held before it). */
  heldBefore = "";
  lastSeen = 0;
  /** What it is counted for in the byte budget (pollerBytes). */
  bytes = 0;

  readonly info: StreamInfo;

  constructor(type: ResourceType, info: Omit<StreamInfo, "polled">) {
    this.state = new ClientTypeState(type, new Subscription(type.wildcardByDefault));
    this.info = { ...info, polled: { typeUrl: type.typeUrl, subscription: this.state.subscription } };
  }
}

export class RestPolls {
  readonly #pollers = new Map<string, Poller>();
  readonly #idleMs: number;
  readonly #maxClients: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(
    private readonly context: ServiceContext,
    /** Gives each poller a StreamInfo id from the same sequence as the server's streams. */
    private readonly nextId: () => number,
    options: RestPollOptions = {},
  ) {
    this.#idleMs = options.idleMs ?? defaultRestPollOptions.idleMs;
    this.#maxClients = options.maxClients ?? defaultRestPollOptions.maxClients;
    this.#maxBytes = options.maxBytes ?? defaultTransportLimits.maxRestPollerBytes;
  }

  /** The bytes the pollers remembered are counted for (bounded by `maxBytes`). */
  get retainedBytes(): number {
    return this.#bytes;
  }

  /** The pollers currently remembered (status pages list them beside streams). */
  pollers(): StreamInfo[] {
    return [...this.#pollers.values()].map((p) => p.info);
  }

  /** Each poller with the one type it polls (client-status.ts). */
  *clients(): Iterable<ClientRecord> {
    for (const p of this.#pollers.values()) yield { info: p.info, types: () => [p.state] };
  }

  /**
   * Answers one POST of `body` (the request's bytes) to `service`, from `peer`, whose verified client certificate
   * names `identity` (absent without mutual TLS).
   */
  answer(service: PollService, body: Uint8Array, peer: string, now = Date.now(), identity?: string): PollAnswer {
    let req: DiscoveryRequest;
    try {
      req = fromJsonString(DiscoveryRequestSchema, new TextDecoder("utf-8", { fatal: true }).decode(body), {
        registry: envoyRegistry(),
        // A newer client may send fields this build's protos do not have; they do not change what is served.
        ignoreUnknownFields: true,
      });
    } catch (err) {
      return problemAnswer("XDSD_HTTP_MALFORMED", `the body is not a DiscoveryRequest in proto3 JSON: ${(err as Error).message}`);
    }
    const type = resourceType(service.typeUrl);
    if (req.typeUrl !== "" && req.typeUrl !== type.typeUrl) {
      return problemAnswer("XDSD_HTTP_MALFORMED", `type_url "${req.typeUrl}" does not match ${service.path}, which serves ${type.typeUrl}`);
    }
    if (!req.node) return problemAnswer("XDSD_HTTP_MALFORMED", "the request must carry the node (every REST poll is a whole request)");
    try {
      checkNode(req.node, this.context.nodeLimits ?? defaultTransportLimits);
    } catch (err) {
      if (err instanceof NodeLimitError) return problemAnswer("XDSD_NODE_LIMIT", err.message);
      throw err;
    }

    const { source, events, authorize } = this.context;
    const nodeKey = source.nodeKey(req.node);
    // Judged before anything of the poll is remembered or answered (authorization.ts): a denied poll leaves nothing.
    const served = authorize && source.snapshotFor(nodeKey);
    const denial = served ? authorize(identity, nodeKey, served) : undefined;
    if (denial !== undefined) {
      const info: StreamInfo = { id: this.nextId(), protocol: "rest", service: service.label, peer, openedAt: now, node: nodeIdentity(req.node), nodeKey };
      events?.denied?.(identity === undefined ? info : { ...info, identity }, denial);
      return problemAnswer("XDSD_HTTP_PERMISSION_DENIED", denial);
    }
    const poller = this.#poller(service, type, req, nodeKey, peer, now, identity);
    const { state, info } = poller;
    events?.request?.(info, req);
    this.#settleReply(poller, req, now);

    const snapshot = source.snapshotFor(nodeKey);
    if (!snapshot) return problemAnswer("XDSD_HTTP_NO_CONFIG", `no configuration is published for node "${nodeKey}" yet`);
    state.subscription.update(req.resourceNames);
    const subscribed = subscribedResources(snapshot, type.typeUrl, state.subscription);
    const versionInfo = subscribedVersion(snapshot, type.typeUrl, state.subscription, subscribed);
    if (req.versionInfo === versionInfo) return { status: 304 };
    if (versionInfo === state.rejectedVersion && req.versionInfo !== "" && req.versionInfo === poller.heldBefore) {
      events?.ignored?.(info, req, `version ${versionInfo} was rejected by this client; not sent again (304)`);
      return { status: 304 };
    }

    const json = responseJson(snapshot, type, versionInfo, state.subscription.key(), subscribed, this.context.controlPlaneId);
    poller.heldBefore = req.versionInfo;
    state.nonce = versionInfo;
    state.recordResponse(versionInfo, now);
    events?.response?.(info, { typeUrl: type.typeUrl, versionInfo, nonce: versionInfo, resources: subscribed, bytes: json.bytes });
    return { status: 200, body: json.text };
  }

  /** Forgets pollers idle for longer than the idle limit; the server calls it from time to time. */
  sweep(now = Date.now()): void {
    for (const [key, poller] of this.#pollers) {
      // Map order is least recently seen first (#poller re-inserts on every poll).
      if (now - poller.lastSeen < this.#idleMs) break;
      this.#forget(key, poller, "no poll for too long");
    }
  }

  /** Forgets every poller (server shutdown). */
  clear(reason: string): void {
    for (const [key, poller] of this.#pollers) this.#forget(key, poller, reason);
  }

  #poller(service: PollService, type: ResourceType, req: DiscoveryRequest, nodeKey: string, peer: string, now: number, identity: string | undefined): Poller {
    const node = req.node!;
    // Per subscription too: without ADS, Envoy polls EDS once per cluster, each poll naming one cluster, and each
    // is a client of its own (its own version held, its own rejections).
    const key = `${type.typeUrl}\u0000${nodeKey}\u0000${node.cluster}\u0000${node.id}\u0000${[...req.resourceNames].sort().join("\u0000")}`;
    let poller = this.#pollers.get(key);
    if (poller) {
      this.#pollers.delete(key);
      // The key holds the node's id and cluster: only what status shows (the user agent) may have changed.
      poller.info.node = nodeIdentity(node);
    } else {
      poller = new Poller(type, {
        id: this.nextId(),
        protocol: "rest",
        service: service.label,
        peer,
        openedAt: now,
        node: nodeIdentity(node),
        nodeKey,
        ...(identity === undefined ? {} : { identity }),
      });
      this.context.events?.streamOpened?.(poller.info);
      this.context.events?.nodeIdentified?.(poller.info);
    }
    this.#bytes -= poller.bytes;
    poller.bytes = pollerBytes(key, poller.info);
    this.#bytes += poller.bytes;
    poller.lastSeen = now;
    this.#pollers.set(key, poller);
    // Least recently seen first (Map order); never the poller just polled, which is last.
    while (this.#pollers.size > this.#maxClients || (this.#bytes > this.#maxBytes && this.#pollers.size > 1)) {
      const [oldestKey, oldest] = this.#pollers.entries().next().value!;
      this.#forget(oldestKey, oldest, this.#pollers.size > this.#maxClients ? "too many pollers remembered" : "the pollers remembered take too many bytes");
    }
    return poller;
  }

  /** Whether this poll accepts or rejects the latest 200 (see the top of this file). */
  #settleReply(poller: Poller, req: DiscoveryRequest, now: number): void {
    const { state, info } = poller;
    if (!state.awaitingReply) return;
    const events = this.context.events;
    const sent = state.sentVersionInfo;
    const explicitNack = req.errorDetail !== undefined && (req.responseNonce === "" || req.responseNonce === state.nonce);
    const inferredNack = !req.errorDetail && req.versionInfo !== "" && req.versionInfo !== sent && req.versionInfo === poller.heldBefore;
    if (explicitNack || inferredNack) {
      const nack = state.recordNack(
        req.errorDetail?.code ?? 0,
        req.errorDetail?.message ?? `polled again with version ${req.versionInfo}, not ${sent}: rejected`,
        now,
      );
      events?.nack?.(info, {
        typeUrl: state.type.typeUrl,
        versionInfo: req.versionInfo,
        nonce: state.nonce,
        rejectedVersion: sent,
        code: nack.code,
        message: nack.message,
      });
    } else if (req.versionInfo === sent && !req.errorDetail) {
      state.recordAck(sent, now);
      events?.ack?.(info, state.type.typeUrl, sent, state.nonce);
    }
  }

  #forget(key: string, poller: Poller, reason: string): void {
    this.#pollers.delete(key);
    this.#bytes -= poller.bytes;
    this.context.events?.streamClosed?.(poller.info, reason);
  }
}

/** An error answered as every HTTP error of the daemon is (problem-details.ts). */
export function problemAnswer(code: ProblemCode, detail: string): PollAnswer {
  const problem = problemDetails(code, detail);
  return { status: problem.status, body: problemText(problem), contentType: problemContentType };
}

/**
 * The DiscoveryResponse as proto3 JSON, built once per (snapshot, type, content) and shared by every poller that
 * gets it, with its UTF-8 size (counted once here rather than per poll: the bytes-sent metric wants it). `nonce` is
 * the version: REST has no stream to order responses on, and a client that NACKs by nonce then names the content it
 * rejects.
 */
function responseJson(
  snapshot: Snapshot,
  type: ResourceType,
  versionInfo: string,
  subscriptionKey: string,
  resources: readonly EncodedResource[],
  controlPlaneId: string | undefined,
): { text: string; bytes: number } {
  return memoOf(snapshot).get(
    `rest\u0000${type.typeUrl}\u0000${versionInfo}`,
    subscriptionKey,
    () => {
      const envelope = toJson(
        DiscoveryResponseSchema,
        create(DiscoveryResponseSchema, {
          versionInfo,
          typeUrl: type.typeUrl,
          nonce: versionInfo,
          controlPlane: controlPlaneId ? { identifier: controlPlaneId } : undefined,
        }),
      ) as JsonObject;
      const text = JSON.stringify({ ...envelope, resources: resources.map(resourceJson) });
      return { text, bytes: Buffer.byteLength(text) };
    },
    ({ text }) => text.length * 2,
  );
}

/** Each resource's JSON, converted once per content version (like its protobuf bytes, encoded-resource.ts). */
const jsonByResource = new WeakMap<EncodedResource, JsonValue>();

function resourceJson(resource: EncodedResource): JsonValue {
  let json = jsonByResource.get(resource);
  if (json === undefined) jsonByResource.set(resource, (json = toJson(AnySchema, resource.any, { registry: envoyRegistry() })));
  return json;
}
