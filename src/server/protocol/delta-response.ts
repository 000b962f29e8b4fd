// An incremental (delta) response: a DeltaDiscoveryResponse body shared by every stream sent the same change — the
// same (type, resources, removed names) of the same snapshot — and this stream's nonce (transport/wire-response.ts
// says how the two go on the wire; the nonce is field 5 here too). Each resource goes out as a
// `Resource{name, version, resource}` whose `resource` is the very `Any` the state-of-the-world protocol sends: the
// same encoded bytes, and `version` is the content hash xdsd computes anyway (stable across restarts and replicas).
import { create, toBinary } from "@bufbuild/protobuf";
import type { Snapshot } from "../../cache/snapshot.js";
import { DeltaDiscoveryResponseSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import { memoOf } from "../snapshot-memo.js";
import type { WireResponse } from "../transport/wire-response.js";
import { encodeNonceField } from "./sotw-response.js";
import { deltaResource } from "./ttl-resources.js";

export interface DeltaResponse extends WireResponse {
  readonly typeUrl: string;
  /** `system_version_info`: for debugging only (xDS spec); the type's version in the snapshot. */
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
  /** `body` and `nonceField` together: the message's size (observers/events.ts ResponseInfo.bytes). */
  readonly bytes: number;
  /** Aliased types (VHDS): the requested names each resource of `resources` is sent for, beside its own name. */
  readonly aliases?: ReadonlyMap<string, readonly string[]>;
  /**
   * Aliased types: requested names that stand for no resource, each sent as a `Resource` of that name and alias with
   * no `resource` — how VHDS says "no such virtual host" (envoy test/integration/vhds_integration_test.cc,
   * notifyAboutAliasResolutionFailure; Envoy's DeltaSubscriptionState skips such entries). `removed_resources`
   * would not do: Envoy then keeps the request that asked waiting (seen with Envoy 1.40).
   */
  readonly unresolved?: readonly string[];
}

if (DeltaDiscoveryResponseSchema.field.nonce.number !== 5) throw new Error("DeltaDiscoveryResponse.nonce is expected to be field 5");

/** What a delta response says beside its resources and removals. */
export interface DeltaBodyOptions {
  controlPlaneId?: string;
  /** Aliased types (VHDS): resource name → the requested names it is sent for. */
  aliases?: ReadonlyMap<string, readonly string[]>;
  /** Aliased types: requested names told to stand for no resource. */
  unresolved?: readonly string[];
  /** Heartbeats (ttl-resources.ts): the resources without their bodies, to restart their TTL at the client. */
  heartbeat?: boolean;
}

/**
 * The shared body of a delta response. `contentKey` must identify the resources, aliases, unresolved and removed
 * names exactly (their names: the snapshot fixes the versions); the body is memoized for the snapshot under it.
 */
export function sharedDeltaBody(
  snapshot: Snapshot,
  typeUrl: string,
  versionInfo: string,
  resources: readonly EncodedResource[],
  removed: readonly string[],
  contentKey: string,
  options: DeltaBodyOptions = {},
): Uint8Array {
  const { controlPlaneId, aliases, unresolved = [], heartbeat = false } = options;
  return memoOf(snapshot).get(
    `${heartbeat ? "delta-heartbeat" : "delta"}\u0000${typeUrl}\u0000${versionInfo}`,
    contentKey,
    () =>
      toBinary(
        DeltaDiscoveryResponseSchema,
        create(DeltaDiscoveryResponseSchema, {
          systemVersionInfo: versionInfo,
          typeUrl,
          resources: [
            ...resources.map((r) => ({ ...deltaResource(r, heartbeat), aliases: [...(aliases?.get(r.name) ?? [])] })),
            ...unresolved.map((name) => ({ name, aliases: [name] })),
          ],
          removedResources: [...removed],
          controlPlane: controlPlaneId ? { identifier: controlPlaneId } : undefined,
        }),
      ),
    (body) => body.byteLength,
  );
}

/** The nonce field of a delta response: the same encoding as the state-of-the-world one (field 5). */
export const encodeDeltaNonceField = encodeNonceField;
