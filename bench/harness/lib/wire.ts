// The protobuf wire format, only as far as the load generator needs it on its hot path: skim a DiscoveryResponse
// or a DeltaDiscoveryResponse (version, type_url, nonce, removed names, and per resource the Any's type_url,
// value and the resource's name) without decoding any resource, and encode the per-ACK fields. Everything else is
// built with protobuf-es.
//
// Field numbers (envoy/service/discovery/v3/discovery.proto, google/protobuf/any.proto):
//   DiscoveryResponse:      1 version_info, 2 resources (Any), 4 type_url, 5 nonce
//   DeltaDiscoveryResponse: 1 system_version_info, 2 resources (Resource), 4 type_url, 5 nonce, 6 removed_resources
//   Resource (delta):       1 version, 2 resource (Any), 3 name
//   DiscoveryRequest:       1 version_info, 2 node, 3 resource_names, 4 type_url, 5 response_nonce, 6 error_detail
//   DeltaDiscoveryRequest:  1 node, 2 type_url, 3 resource_names_subscribe, 4 resource_names_unsubscribe,
//                           6 response_nonce, 7 error_detail
//   Any: 1 type_url, 2 value
//   Cluster.name, ClusterLoadAssignment.cluster_name, Listener.name, RouteConfiguration.name: field 1.
// The two responses share the numbers of the fields read here except removed_resources (6 is control_plane, a
// message, in a DiscoveryResponse), so one skimmer reads both.
// A protobuf message is the concatenation of its fields in any order, so a SotW ACK is written as
// [version_info][response_nonce] followed by a prebuilt [resource_names…][type_url] block, and a delta ACK as a
// prebuilt [type_url] followed by [response_nonce].

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Numbers per resource in `SkimmedResponse.ranges`. */
export const rangeStride = 8;

/**
 * The skim of one response. Resource ranges are written into `ranges`, `rangeStride` numbers per resource:
 * [anyTypeUrlStart, anyTypeUrlEnd, valueStart, valueEnd, nameStart, nameEnd, resourceNameStart, resourceNameEnd]:
 * `name` is the resource's own name (field 1 of the message, -1 if absent), `resourceName` the name a delta
 * `Resource` wraps it under (-1 in SotW, or if absent).
 * The arrays are reused from response to response (the generator is single-threaded).
 */
export interface SkimmedResponse {
  /** A DeltaDiscoveryResponse (resources wrapped in `Resource`, `removed_resources`), or a DiscoveryResponse. */
  delta: boolean;
  /** SotW `version_info`, or delta `system_version_info`. */
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  count: number;
  ranges: Int32Array;
  /**
   * The bytes from the first resource field to the end of the last one, and whether only resource fields lie in
   * between: then two responses with equal regions carry exactly the same resources, in the same order.
   */
  regionStart: number;
  regionEnd: number;
  contiguous: boolean;
  /** Delta only: the names of `removed_resources`, two numbers per name ([start, end] of its bytes). */
  removedCount: number;
  removedRanges: Int32Array;
}

let ranges = new Int32Array(rangeStride * 1024);
let anyRanges = new Int32Array(2 * 1024);
const result: SkimmedResponse = {
  delta: false,
  versionInfo: "",
  typeUrl: "",
  nonce: "",
  count: 0,
  ranges,
  regionStart: -1,
  regionEnd: -1,
  contiguous: true,
  removedCount: 0,
  removedRanges: new Int32Array(2 * 64),
};

// Reads a varint at `pos` into `varintValue`, returns the position after it. Lengths here are < 2^31.
let varintValue = 0;
function readVarint(buf: Uint8Array, pos: number): number {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++];
    if (shift < 28) value |= (b & 0x7f) << shift;
    else value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      varintValue = value;
      return pos;
    }
    shift += 7;
  }
  throw new Error("varint too long");
}

function skipField(buf: Uint8Array, pos: number, wireType: number): number {
  switch (wireType) {
    case WIRE_VARINT:
      return readVarint(buf, pos);
    case WIRE_I64:
      return pos + 8;
    case WIRE_LEN:
      pos = readVarint(buf, pos);
      return pos + varintValue;
    case WIRE_I32:
      return pos + 4;
    default:
      throw new Error(`unsupported wire type ${wireType}`);
  }
}

/**
 * Skims the top level of a DiscoveryResponse: version, type, nonce, and where each resource (Any) lies. The
 * resources themselves are looked into only by `skimResources`, which the caller skips when the region is one it
 * has already verified. The returned object and its arrays are overwritten by the next call.
 */
export function skimDiscoveryResponse(buf: Buffer): SkimmedResponse {
  return skimResponse(buf, false);
}

/** The same for a DeltaDiscoveryResponse: each resource is a `Resource`, and removed names are listed too. */
export function skimDeltaDiscoveryResponse(buf: Buffer): SkimmedResponse {
  return skimResponse(buf, true);
}

function skimResponse(buf: Buffer, delta: boolean): SkimmedResponse {
  let pos = 0;
  const end = buf.length;
  let count = 0;
  let removed = 0;
  result.delta = delta;
  result.versionInfo = "";
  result.typeUrl = "";
  result.nonce = "";
  result.regionStart = -1;
  result.regionEnd = -1;
  result.contiguous = true;
  while (pos < end) {
    const fieldStart = pos;
    pos = readVarint(buf, pos);
    const tag = varintValue;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== WIRE_LEN || (field !== 1 && field !== 2 && field !== 4 && field !== 5 && !(delta && field === 6))) {
      pos = skipField(buf, pos, wireType);
      continue;
    }
    pos = readVarint(buf, pos);
    const start = pos;
    const stop = pos + varintValue;
    if (stop > end) throw new Error("truncated field");
    pos = stop;
    if (field === 6) {
      if ((removed + 1) * 2 > result.removedRanges.length) {
        const bigger = new Int32Array(result.removedRanges.length * 2);
        bigger.set(result.removedRanges);
        result.removedRanges = bigger;
      }
      result.removedRanges[removed * 2] = start;
      result.removedRanges[removed * 2 + 1] = stop;
      removed++;
      continue;
    }
    if (field !== 2) {
      if (field === 1) result.versionInfo = buf.toString("latin1", start, stop);
      else if (field === 4) result.typeUrl = buf.toString("latin1", start, stop);
      else result.nonce = buf.toString("latin1", start, stop);
      continue;
    }
    // Contiguous: each resource field starts where the previous one ended (nothing interleaved).
    if (count === 0) result.regionStart = fieldStart;
    else if (result.regionEnd !== fieldStart) result.contiguous = false;
    result.regionEnd = stop;
    if ((count + 1) * 2 > anyRanges.length) {
      const bigger = new Int32Array(anyRanges.length * 2);
      bigger.set(anyRanges);
      anyRanges = bigger;
    }
    anyRanges[count * 2] = start;
    anyRanges[count * 2 + 1] = stop;
    count++;
  }
  result.count = count;
  result.removedCount = removed;
  return result;
}

/** Fills `ranges` (Any type URL, value, resource name, delta name) for the resources of the last skimmed response. */
export function skimResources(buf: Buffer, r: SkimmedResponse): void {
  if (r.count * rangeStride > ranges.length) {
    ranges = new Int32Array(Math.max(r.count * rangeStride, ranges.length * 2));
    r.ranges = ranges;
  }
  for (let k = 0; k < r.count; k++) {
    const at = k * rangeStride;
    ranges.fill(-1, at, at + rangeStride);
    if (r.delta) skimDeltaResource(buf, anyRanges[k * 2], anyRanges[k * 2 + 1], at);
    else skimAny(buf, anyRanges[k * 2], anyRanges[k * 2 + 1], at);
  }
}

// skimDeltaResource and skimAny walk their two length-delimited fields with the same loop, written out twice on
// purpose: one loop with a per-field callback made the generator's skim 12–30% slower (1,000-resource SotW and delta
// responses, 300 rounds, tsx, 2026-12-02), and the generator must stay cheaper than the servers it measures.

/** A delta `Resource`: its name (field 3) and its Any (field 2); the version (field 1) is the server's business. */
function skimDeltaResource(buf: Uint8Array, start: number, stop: number, at: number): void {
  let pos = start;
  while (pos < stop) {
    pos = readVarint(buf, pos);
    const tag = varintValue;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== WIRE_LEN || (field !== 2 && field !== 3)) {
      pos = skipField(buf, pos, wireType);
      continue;
    }
    pos = readVarint(buf, pos);
    const s = pos;
    const e = pos + varintValue;
    pos = e;
    if (field === 3) {
      ranges[at + 6] = s;
      ranges[at + 7] = e;
    } else skimAny(buf, s, e, at);
  }
  if (pos !== stop) throw new Error("malformed Resource");
}

function skimAny(buf: Uint8Array, start: number, stop: number, at: number): void {
  let pos = start;
  while (pos < stop) {
    pos = readVarint(buf, pos);
    const tag = varintValue;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== WIRE_LEN || (field !== 1 && field !== 2)) {
      pos = skipField(buf, pos, wireType);
      continue;
    }
    pos = readVarint(buf, pos);
    const s = pos;
    const e = pos + varintValue;
    pos = e;
    if (field === 1) {
      ranges[at] = s;
      ranges[at + 1] = e;
    } else {
      ranges[at + 2] = s;
      ranges[at + 3] = e;
      skimName(buf, s, e, at);
    }
  }
  if (pos !== stop) throw new Error("malformed Any");
}

// Field 1 (the name) comes first in every encoder that writes fields in number order (protobuf-es, Go, C++), but
// the loop does not rely on it.
function skimName(buf: Uint8Array, start: number, stop: number, at: number): void {
  let pos = start;
  while (pos < stop) {
    pos = readVarint(buf, pos);
    const tag = varintValue;
    if (tag === ((1 << 3) | WIRE_LEN)) {
      pos = readVarint(buf, pos);
      ranges[at + 4] = pos;
      ranges[at + 5] = pos + varintValue;
      return;
    }
    pos = skipField(buf, pos, tag & 7);
  }
}

/**
 * The two things the floor server needs from a request: its type_url and whether it carries an error_detail (a
 * NACK) — fields 4 and 6 of a DiscoveryRequest, 2 and 7 of a DeltaDiscoveryRequest. Every other field is skipped
 * by length, unread: an Envoy SotW ACK carries its whole subscription (500 EDS names in scenario A), and decoding
 * those is work no server needs to do to answer.
 */
export function skimDiscoveryRequest(buf: Uint8Array, delta = false): { typeUrl: string; nack: boolean } {
  const typeUrlField = delta ? 2 : 4;
  const errorDetailField = delta ? 7 : 6;
  let pos = 0;
  let typeUrl = "";
  let nack = false;
  while (pos < buf.length) {
    pos = readVarint(buf, pos);
    const tag = varintValue;
    if ((tag & 7) !== WIRE_LEN) {
      pos = skipField(buf, pos, tag & 7);
      continue;
    }
    pos = readVarint(buf, pos);
    const end = pos + varintValue;
    if (tag >>> 3 === typeUrlField) typeUrl = Buffer.from(buf.buffer, buf.byteOffset + pos, end - pos).toString("latin1");
    else if (tag >>> 3 === errorDetailField) nack = true;
    pos = end;
  }
  return { typeUrl, nack };
}

/** A length-delimited string field: tag, length, UTF-8 bytes. */
export function stringField(field: number, value: string): Buffer {
  const len = Buffer.byteLength(value);
  const out = Buffer.allocUnsafe(varintSize((field << 3) | WIRE_LEN) + varintSize(len) + len);
  let pos = writeVarint(out, 0, (field << 3) | WIRE_LEN);
  pos = writeVarint(out, pos, len);
  out.write(value, pos, "utf8");
  return out;
}

/** [version_info][response_nonce]: the part of an ACK that changes with every response. */
export function ackHead(versionInfo: string, nonce: string): Buffer {
  const vLen = Buffer.byteLength(versionInfo);
  const nLen = Buffer.byteLength(nonce);
  const size = (vLen > 0 ? 1 + varintSize(vLen) + vLen : 0) + (nLen > 0 ? 1 + varintSize(nLen) + nLen : 0);
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  if (vLen > 0) {
    out[pos++] = (1 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, vLen);
    pos += out.write(versionInfo, pos, "utf8");
  }
  if (nLen > 0) {
    out[pos++] = (5 << 3) | WIRE_LEN;
    pos = writeVarint(out, pos, nLen);
    out.write(nonce, pos, "utf8");
  }
  return out;
}

/** [response_nonce] of a DeltaDiscoveryRequest (field 6): the part of a delta ACK that changes with every response. */
export function deltaAckNonce(nonce: string): Buffer {
  return stringField(6, nonce);
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}
