// Decoding DiscoveryRequests the cheap way for the common case. A proxy ACKs every response with its whole
// subscription, and Envoy repeats its node in every request by default: an EDS ACK of a proxy subscribed to 500
// clusters is 500 names to decode as UTF-8 strings, per ACK, per proxy. Profiles of the EDS churn benchmark had a
// quarter of the server's CPU there, plus the garbage it made.
//
// Here the request is walked field by field with protobuf-es's wire reader. The names and the node are compared,
// as bytes, with the same fields of the stream's previous request (names per type URL); when equal, the objects
// decoded then are used again. Anything unusual (fields out of the usual shape, locators, unknown fields, a
// malformed request) goes through the full decoder, so the result is always what fromBinary would give.
import { create, fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { DiscoveryRequestSchema, type DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { NodeSchema, type Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { StatusSchema, type Status } from "../../gen/google/rpc/status_pb.js";
import { SharedNameLists, type SharedNameList } from "./shared-name-lists.js";

const F = DiscoveryRequestSchema.field;
/** proto3 strings must be valid UTF-8; fromBinary refuses them otherwise, and so must the shortcut (found by fuzzing). */
const strictUtf8 = true;

interface Remembered<T> {
  bytes: Buffer;
  value: T;
}

/**
 * One per stream: it remembers that stream's previous node and subscriptions. Name lists that differ from the
 * stream's previous one come from `nameLists`, shared by the transport's streams (see shared-name-lists.ts).
 */
export class RequestDecoder {
  #node: Remembered<Node> | undefined;
  readonly #names = new Map<string, SharedNameList>();

  constructor(private readonly nameLists: SharedNameLists = new SharedNameLists({ maxEntries: 16 })) {}

  decode(frame: Uint8Array): DiscoveryRequest {
    try {
      return this.#skim(frame) ?? fromBinary(DiscoveryRequestSchema, frame);
    } catch {
      return fromBinary(DiscoveryRequestSchema, frame); // throws the decoder's own error for a malformed request
    }
  }

  #skim(frame: Uint8Array): DiscoveryRequest | undefined {
    const reader = new BinaryReader(frame);
    let versionInfo = "";
    let typeUrl = "";
    let responseNonce = "";
    let nodeBytes: Uint8Array | undefined;
    let errorDetail: Status | undefined;
    let namesStart = -1;
    let namesEnd = -1;
    while (reader.pos < reader.len) {
      const fieldStart = reader.pos;
      const [no, wireType] = reader.tag();
      if (wireType !== WireType.LengthDelimited) return undefined;
      switch (no) {
        case F.versionInfo.number:
          versionInfo = reader.string(strictUtf8);
          break;
        case F.node.number:
          if (nodeBytes) return undefined; // a split message field: let the full decoder merge it
          nodeBytes = reader.bytes();
          break;
        case F.resourceNames.number: {
          if (namesStart >= 0 && fieldStart !== namesEnd) return undefined; // names not in one run
          if (namesStart < 0) namesStart = fieldStart;
          // Step over the name without making a view of it (reader.skip would allocate one per name).
          const length = reader.uint32(); // read before pos: `pos += uint32()` would add to the old pos
          reader.pos += length;
          if (reader.pos > reader.len) throw new RangeError("premature end of a resource name");
          namesEnd = reader.pos;
          break;
        }
        case F.typeUrl.number:
          typeUrl = reader.string(strictUtf8);
          break;
        case F.responseNonce.number:
          responseNonce = reader.string(strictUtf8);
          break;
        case F.errorDetail.number:
          if (errorDetail) return undefined;
          errorDetail = fromBinary(StatusSchema, reader.bytes());
          break;
        default:
          return undefined; // resource_locators or a field this decoder does not know
      }
    }
    const names = namesStart < 0 ? [] : this.#namesOf(typeUrl, frame.subarray(namesStart, namesEnd));
    const node = nodeBytes && this.#nodeOf(nodeBytes);
    return create(DiscoveryRequestSchema, { versionInfo, node, resourceNames: names, typeUrl, responseNonce, errorDetail });
  }

  #namesOf(typeUrl: string, region: Uint8Array): string[] {
    let list = this.#names.get(typeUrl);
    if (!list || Buffer.compare(list.bytes, region) !== 0) this.#names.set(typeUrl, (list = this.nameLists.get(region)));
    // Frozen and shared between streams: nothing downstream writes to resource_names.
    return list.names as string[];
  }

  #nodeOf(bytes: Uint8Array): Node {
    if (this.#node && Buffer.compare(this.#node.bytes, bytes) === 0) return this.#node.value;
    const node = fromBinary(NodeSchema, bytes);
    this.#node = { bytes: Buffer.from(bytes), value: node };
    return node;
  }
}
