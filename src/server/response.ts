// A state-of-the-world response as it goes on the wire: a body shared by every stream that is sent the same
// (type, version, resources), and this stream's nonce.
//
// Protobuf lets a message be written as the concatenation of its fields' encodings, in any order, so the body
// (version_info, resources, type_url, control_plane) is encoded once and the nonce field is added per stream:
// before the body on node:http2 (grpcMessagePrefix), after it through grpc-js (responseBytes). Unit tests check
// that both decode to the same DiscoveryResponse the library would encode.
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DiscoveryResponseSchema } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { EncodedResource } from "../resource/encoded-resource.js";
import type { Snapshot } from "../cache/snapshot.js";

export interface SotwResponse {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  /** Encoded DiscoveryResponse minus the nonce; the same object for every stream sent this content. */
  readonly body: Uint8Array;
  /** Encoded `nonce` field. */
  readonly nonceField: Uint8Array;
}

export interface ResponseBodyOptions {
  /** Sent as `control_plane.identifier`; Envoy shows it as the `control_plane.identifier` stat. */
  controlPlaneId?: string;
}

/**
 * The shared body for a response. `contentKey` must identify the resources exactly (their names: the snapshot
 * fixes their versions); the body is memoized on the snapshot under it.
 */
export function sharedResponseBody(
  snapshot: Snapshot,
  typeUrl: string,
  versionInfo: string,
  resources: readonly EncodedResource[],
  contentKey: string,
  options: ResponseBodyOptions = {},
): Uint8Array {
  return snapshot.memo(
    `sotw\u0000${typeUrl}\u0000${versionInfo}`,
    contentKey,
    () => encodeResponseBody(typeUrl, versionInfo, resources, options),
    (body) => body.byteLength,
  );
}

export function encodeResponseBody(
  typeUrl: string,
  versionInfo: string,
  resources: readonly EncodedResource[],
  options: ResponseBodyOptions = {},
): Uint8Array {
  return toBinary(
    DiscoveryResponseSchema,
    create(DiscoveryResponseSchema, {
      versionInfo,
      typeUrl,
      resources: resources.map((r) => r.any),
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

/**
 * What a stream writes before the shared body: the 5-byte gRPC message header (uncompressed flag, big-endian
 * length of the whole message) and then the nonce field. Putting the nonce first is valid protobuf — a parser
 * must accept fields in any order and fields of a message may be concatenated (protobuf encoding spec, "Field
 * Order") — and makes the per-stream part one small write followed by the shared body, with no copy of the body.
 */
export function grpcMessagePrefix(r: Pick<SotwResponse, "body" | "nonceField">): Buffer {
  const prefix = Buffer.allocUnsafe(grpcHeaderBytes + r.nonceField.length);
  prefix[0] = 0; // not compressed
  prefix.writeUInt32BE(r.nonceField.length + r.body.length, 1);
  prefix.set(r.nonceField, grpcHeaderBytes);
  return prefix;
}

const grpcHeaderBytes = 5;

/** The complete encoded DiscoveryResponse. */
export function responseBytes(r: Pick<SotwResponse, "body" | "nonceField">): Buffer {
  return Buffer.concat([r.body, r.nonceField]);
}
