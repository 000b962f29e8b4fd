// A response as the transports see it, whatever the protocol: a body shared by every stream sent the same content,
// and this stream's own nonce field.
//
// Protobuf lets a message be written as the concatenation of its fields' encodings, in any order (protobuf encoding
// spec, "Field Order"), so a body (the DiscoveryResponse or DeltaDiscoveryResponse without its nonce) is encoded
// once and the nonce field added per stream: before the body on node:http2 (grpcMessagePrefix), after it through
// grpc-js (responseBytes). Both responses have the nonce as field 5.

export interface WireResponse {
  /** Encoded response minus the nonce; the same object for every stream sent this content. */
  readonly body: Uint8Array;
  /** Encoded `nonce` field. */
  readonly nonceField: Uint8Array;
}

const grpcHeaderBytes = 5;

/**
 * What a stream writes before the shared body: the 5-byte gRPC message header (uncompressed flag, big-endian
 * length of the whole message) and then the nonce field. The per-stream part is one small write followed by the
 * shared body, with no copy of the body.
 */
export function grpcMessagePrefix(r: WireResponse): Buffer {
  const prefix = Buffer.allocUnsafe(grpcHeaderBytes + r.nonceField.length);
  prefix[0] = 0; // not compressed
  prefix.writeUInt32BE(r.nonceField.length + r.body.length, 1);
  prefix.set(r.nonceField, grpcHeaderBytes);
  return prefix;
}

/** The complete encoded response. */
export function responseBytes(r: WireResponse): Buffer {
  return Buffer.concat([r.body, r.nonceField]);
}
