// What the server tells the outside world: logging, status tracking and metrics listen here. Listeners run
// synchronously on the stream's path, so they must be cheap; anything slow belongs behind a queue of the
// listener's own.
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { DeltaDiscoveryRequest, DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import type { SubscribedNames } from "../subscription.js";
import type { Protocol } from "../service-label.js";

export interface StreamInfo {
  /** Unique per server process. */
  readonly id: number;
  readonly protocol: Protocol;
  /** The service's label (service-table.ts serviceLabel): `ads`, `eds`, `delta-ads`, `rest-cds`… */
  readonly service: string;
  /** When the stream opened, or the poller first polled (ms since the epoch). */
  readonly openedAt: number;
  readonly peer: string;
  /** What the client's verified TLS certificate names (peer-identity.ts); absent over plaintext or without mTLS. */
  readonly identity?: string;
  /** Known after the first request. */
  node?: Node;
  nodeKey?: string;
  /** A REST poller (protocol/rest-poll.ts): the one type it polls and its subscription, which never changes. */
  readonly polled?: { readonly typeUrl: string; readonly subscription: SubscribedNames };
}

/** A response as listeners see it, whatever the protocol. */
export interface ResponseInfo {
  readonly typeUrl: string;
  /** `version_info` (state of the world), `system_version_info` (incremental). */
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  /**
   * The message's size in bytes as handed to the transport (for the bytes-sent metric): the encoded
   * DiscoveryResponse or DeltaDiscoveryResponse with this stream's nonce, without the gRPC and HTTP/2 framing; for
   * REST-JSON polling, the JSON body of the 200.
   */
  readonly bytes: number;
  /** Incremental only: `removed_resources`. */
  readonly removed?: readonly string[];
  /** A TTL refresh of what the client holds, not a change (protocol/ttl-resources.ts). */
  readonly heartbeat?: boolean;
  /** Incremental, aliased types (VHDS): resource name → the requested names it is sent for. */
  readonly aliases?: ReadonlyMap<string, readonly string[]>;
  /** Incremental, aliased types: requested names told to stand for no resource. */
  readonly unresolved?: readonly string[];
}

export interface NackInfo {
  typeUrl: string;
  /**
   * The version the client says it still has (or, for gRPC's partial acceptance, the new one); incremental
   * requests say none: the version of the response it ACKed last ("" if none).
   */
  versionInfo: string;
  nonce: string;
  /** The version we had sent in the rejected response. */
  rejectedVersion: string;
  code: number;
  message: string;
}

export interface XdsServerEvents {
  streamOpened?(stream: StreamInfo): void;
  /** The first request of a stream told us its node. */
  nodeIdentified?(stream: StreamInfo): void;
  streamClosed?(stream: StreamInfo, reason: string): void;
  request?(stream: StreamInfo, request: DiscoveryRequest | DeltaDiscoveryRequest): void;
  response?(stream: StreamInfo, response: ResponseInfo): void;
  ack?(stream: StreamInfo, typeUrl: string, versionInfo: string, nonce: string): void;
  nack?(stream: StreamInfo, nack: NackInfo): void;
  /** A request that was not answered and why (stale nonce, unknown type…): never drop one silently. */
  ignored?(stream: StreamInfo, request: { readonly typeUrl: string }, reason: string): void;
  /** The client's identity may not be served its node's config (authorization.ts): the call ends, nothing sent. */
  denied?(stream: StreamInfo, reason: string): void;
}

/** Fans each event out to several listeners. */
export function combineEvents(...listeners: (XdsServerEvents | undefined)[]): XdsServerEvents {
  const ls = listeners.filter((l): l is XdsServerEvents => l !== undefined);
  const out: XdsServerEvents = {};
  const keys: (keyof XdsServerEvents)[] = ["streamOpened", "nodeIdentified", "streamClosed", "request", "response", "ack", "nack", "ignored", "denied"];
  for (const key of keys) {
    const fns = ls.map((l) => l[key]?.bind(l)).filter((f) => f !== undefined) as ((...a: unknown[]) => void)[];
    if (fns.length > 0)
      (out as Record<string, unknown>)[key] = (...args: unknown[]) => {
        for (const f of fns) f(...args);
      };
  }
  return out;
}
