// gRPC status codes used by xdsd's transports (grpc/grpc doc/statuscodes.md). Kept here so that the node:http2
// transport does not depend on grpc-js for a handful of numbers.
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/**
 * `grpc-message` as the gRPC HTTP/2 protocol writes it (grpc/grpc doc/PROTOCOL-HTTP2.md, "Status-Message"): the
 * UTF-8 bytes, each outside 0x20–0x7E, and "%" itself, percent-encoded; everything else as it is. Not
 * encodeURIComponent, which also encodes ";", ",", "/", ":" and the like, that clients decode with decodeURI (grpc-js)
 * or not at all — they would show "%3B" where the message said ";".
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
