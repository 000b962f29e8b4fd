// The two ADS protocols as the simulated proxy (proxy.ts) speaks them: what differs between state of the world
// (StreamAggregatedResources) and incremental (DeltaAggregatedResources) is kept here, so that the proxy has one
// code path for subscribing, verifying, ACKing and convergence.
//
// What differs:
// - the method path, and the response skim (a delta resource is a `Resource` wrapping the same `Any`; a delta
//   response may list `removed_resources`);
// - deletion: a SotW LDS/CDS response holds the complete set (a missing name is deleted), a delta response names
//   what it removes;
// - requests: a SotW request carries the whole subscription and the ACKed version and nonce; a delta request
//   carries subscription changes only (names added, names removed), and its ACK only the type and the nonce.
// Requests are encoded with protobuf-es; on the hot path (the ACK of every response) from prebuilt parts plus
// the fields that change (lib/wire.ts), as before.
import { create, toBinary } from "@bufbuild/protobuf";
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from "../../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { ackHead, deltaAckNonce, skimDeltaDiscoveryResponse, skimDiscoveryResponse, type SkimmedResponse } from "../lib/wire.js";
import type { FixtureIndex, TypeInfo } from "./fixture-index.js";

export type Protocol = "sotw" | "delta";

export const protocols: readonly Protocol[] = ["sotw", "delta"];

export function parseProtocol(value: string | undefined): Protocol {
  if (value === undefined || value === "sotw") return "sotw";
  if (value === "delta") return "delta";
  throw new Error(`--protocol ${value}: sotw or delta`);
}

const service = "/envoy.service.discovery.v3.AggregatedDiscoveryService";
export const adsPaths: Record<Protocol, string> = {
  sotw: `${service}/StreamAggregatedResources`,
  delta: `${service}/DeltaAggregatedResources`,
};

/** One client's exchange of one type: what a later request of that type must repeat (SotW) or answer (delta). */
export interface TypeExchange {
  /** SotW: the last ACKed version_info and nonce, and the prebuilt [resource_names…][type_url] of the subscription. */
  version: string;
  nonce: string;
  tail: Buffer;
}

/** A subscription of a named type as it changes: the whole list after the change, and what was added and removed. */
export interface SubscriptionChange {
  names: readonly number[];
  added: readonly number[];
  removed: readonly number[];
}

export interface Dialect {
  readonly protocol: Protocol;
  readonly path: string;
  /** Whether a response of a full-state type (LDS, CDS) lists everything, so that a name missing from it is deleted. */
  readonly absenceDeletes: boolean;
  skim(message: Buffer): SkimmedResponse;
  /**
   * The message that subscribes to a type or changes its subscription (`change` undefined: the wildcard), as
   * parts to frame; `nodeOf`: the client whose node to send (the first request of a stream only).
   */
  subscribe(type: TypeInfo, exchange: TypeExchange, change: SubscriptionChange | undefined, nodeOf: number | undefined): Uint8Array[];
  /** The ACK of the response just skimmed, as parts to frame; records in `exchange` what later requests repeat. */
  ack(type: TypeInfo, exchange: TypeExchange, r: SkimmedResponse): Uint8Array[];
}

/** The node every simulated proxy sends: id `bench-<i>`, cluster `bench`. */
function node(i: number) {
  return { id: `bench-${i}`, cluster: "bench", userAgentName: "xdsd-bench-loadgen" };
}

export function dialectFor(protocol: Protocol, index: FixtureIndex): Dialect {
  return protocol === "delta" ? new DeltaDialect(index) : new SotwDialect(index);
}

class SotwDialect implements Dialect {
  readonly protocol = "sotw";
  readonly path = adsPaths.sotw;
  readonly absenceDeletes = true;
  /** Request tails by type and name list, shared by every client (they all subscribe alike). */
  readonly #tails = new Map<string, Buffer>();

  constructor(private readonly index: FixtureIndex) {}

  skim(message: Buffer): SkimmedResponse {
    return skimDiscoveryResponse(message);
  }

  subscribe(type: TypeInfo, exchange: TypeExchange, change: SubscriptionChange | undefined, nodeOf: number | undefined): Uint8Array[] {
    exchange.tail = this.#tail(type, change?.names);
    const parts: Uint8Array[] = [ackHead(exchange.version, exchange.nonce)];
    if (nodeOf !== undefined) parts.push(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node: node(nodeOf) })));
    parts.push(exchange.tail);
    return parts;
  }

  ack(_type: TypeInfo, exchange: TypeExchange, r: SkimmedResponse): Uint8Array[] {
    exchange.version = r.versionInfo;
    exchange.nonce = r.nonce;
    return [ackHead(r.versionInfo, r.nonce), exchange.tail];
  }

  #tail(type: TypeInfo, nameIds: readonly number[] | undefined): Buffer {
    const key = `${type.index}:${nameIds ? nameIds.join(",") : "*"}`;
    let tail = this.#tails.get(key);
    if (!tail) {
      const resourceNames = nameIds ? nameIds.map((n) => this.index.nameText[n]) : [];
      tail = Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { resourceNames, typeUrl: type.typeUrl })));
      this.#tails.set(key, tail);
    }
    return tail;
  }
}

class DeltaDialect implements Dialect {
  readonly protocol = "delta";
  readonly path = adsPaths.delta;
  readonly absenceDeletes = false;
  /** [type_url] per type: the constant part of every delta ACK. */
  readonly #typeFields: Buffer[];

  constructor(private readonly index: FixtureIndex) {
    this.#typeFields = index.types.map((t) => Buffer.from(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { typeUrl: t.typeUrl }))));
  }

  skim(message: Buffer): SkimmedResponse {
    return skimDeltaDiscoveryResponse(message);
  }

  subscribe(type: TypeInfo, _exchange: TypeExchange, change: SubscriptionChange | undefined, nodeOf: number | undefined): Uint8Array[] {
    // The wildcard is asked for as Envoy does on a fresh stream: a first request naming nothing (legacy wildcard,
    // which xdsd and go-control-plane both honour). Subscription changes carry no nonce: they are not replies.
    const text = (ids: readonly number[] | undefined) => (ids ?? []).map((n) => this.index.nameText[n]);
    const request = create(DeltaDiscoveryRequestSchema, {
      node: nodeOf === undefined ? undefined : node(nodeOf),
      typeUrl: type.typeUrl,
      resourceNamesSubscribe: text(change?.added),
      resourceNamesUnsubscribe: text(change?.removed),
    });
    return [toBinary(DeltaDiscoveryRequestSchema, request)];
  }

  ack(type: TypeInfo, exchange: TypeExchange, r: SkimmedResponse): Uint8Array[] {
    exchange.nonce = r.nonce;
    return [this.#typeFields[type.index], deltaAckNonce(r.nonce)];
  }
}
