// A state-of-the-world response: a body shared by every stream that is sent the same (type, version, resources),
// and this stream's nonce (wire-response.ts says how the two go on the wire). Unit tests check that both ways of
// putting them together decode to the same DiscoveryResponse the library would encode.
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DiscoveryResponseSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../../resource/encoded-resource.js";
import type { Snapshot } from "../../cache/snapshot.js";
import { memoOf } from "../snapshot-memo.js";
import type { WireResponse } from "../transport/wire-response.js";
import { sotwAny } from "./ttl-resources.js";

export interface SotwResponse extends WireResponse {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  /** `body` and `nonceField` together: the message's size (observers/events.ts ResponseInfo.bytes). */
  readonly bytes: number;
}

export interface ResponseBodyOptions {
  /** Sent as `control_plane.identifier`; Envoy shows it as the `control_plane.identifier` stat. */
  controlPlaneId?: string;
}

/**
 * The shared body for a response. `contentKey` must identify the resources exactly (their names: the snapshot
 * fixes their versions); the body is memoized for the snapshot under it (snapshot-memo.ts).
 */
export function sharedResponseBody(
  snapshot: Snapshot,
  typeUrl: string,
  versionInfo: string,
  resources: readonly EncodedResource[],
  contentKey: string,
  options: ResponseBodyOptions = {},
): Uint8Array {
  return memoOf(snapshot).get(
    `sotw\u0000${typeUrl}\u0000${versionInfo}`,
    contentKey,
    () => encodeResponseBody(typeUrl, versionInfo, resources, options),
    (body) => body.byteLength,
  );
}

export function encodeResponseBody(typeUrl: string, versionInfo: string, resources: readonly EncodedResource[], options: ResponseBodyOptions = {}): Uint8Array {
  return toBinary(
    DiscoveryResponseSchema,
    create(DiscoveryResponseSchema, {
      versionInfo,
      typeUrl,
      resources: resources.map(sotwAny),
      controlPlane: options.controlPlaneId ? { identifier: options.controlPlaneId } : undefined,
    }),
  );
}

/** The encoded `nonce` field (DiscoveryResponse field 5), written with protobuf-es's wire writer: it is made once
 *  per response sent, and building a message through reflection for one string showed in profiles. */
export function encodeNonceField(nonce: string): Uint8Array {
  return new BinaryWriter().tag(nonceFieldNumber, WireType.LengthDelimited).string(nonce).finish();
}

const nonceFieldNumber = DiscoveryResponseSchema.field.nonce.number;
