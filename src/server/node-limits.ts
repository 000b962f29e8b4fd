// What xdsd accepts and keeps of a request's node, the same for every protocol (issue 18: 2,758 anonymous REST polls
// with 1.5 MB of metadata each took the daemon from 161 MB to out of memory; gRPC streams kept such nodes as long
// as they stayed open). A node whose id, cluster or metadata is over its limit (transport-limits.ts) is refused
// before anything of the request is kept. A REST poller, remembered for minutes after its poll, keeps only what
// status and logs show of its node (nodeIdentity).
import { create, toBinary } from "@bufbuild/protobuf";
import { NodeLimitError } from "../errors.js";
import { BuildVersionSchema, NodeSchema, type Node } from "../gen/envoy/config/core/v3/base_pb.js";
import { transportLimitFlags, type TransportLimits } from "./transport/transport-limits.js";

export type NodeLimits = Pick<TransportLimits, "maxNodeIdBytes" | "maxNodeMetadataBytes">;

/** Throws a NodeLimitError naming the first field of `node` over its limit. */
export function checkNode(node: Node, limits: NodeLimits): void {
  for (const field of ["id", "cluster"] as const) {
    // A UTF-16 unit is at most 3 UTF-8 bytes: a shorter string cannot be over the limit (no need to count).
    if (node[field].length <= limits.maxNodeIdBytes / 3) continue;
    const bytes = Buffer.byteLength(node[field]);
    if (bytes > limits.maxNodeIdBytes) throw new NodeLimitError(`node.${field}`, bytes, limits.maxNodeIdBytes, transportLimitFlags.maxNodeIdBytes);
  }
  if (node.metadata === undefined) return;
  const bytes = toBinary(NodeSchema, create(NodeSchema, { metadata: node.metadata })).length;
  if (bytes > limits.maxNodeMetadataBytes)
    throw new NodeLimitError("node.metadata", bytes, limits.maxNodeMetadataBytes, transportLimitFlags.maxNodeMetadataBytes);
}

/** Characters of a user agent's name or version kept for display. */
const maxUserAgentChars = 256;

/**
 * What status and logs show of a node (node-status.ts, log-events.ts: its id, cluster and user agent), without the
 * rest (metadata, extensions — 61 kB for Envoy 1.40 —, client features…): what a REST poller keeps between polls.
 */
export function nodeIdentity(node: Node): Node {
  const short = (s: string) => (s.length > maxUserAgentChars ? s.slice(0, maxUserAgentChars) : s);
  const v = node.userAgentVersionType;
  return create(NodeSchema, {
    id: node.id,
    cluster: node.cluster,
    userAgentName: short(node.userAgentName),
    userAgentVersionType:
      v.case === "userAgentVersion"
        ? { case: v.case, value: short(v.value) }
        : v.case === "userAgentBuildVersion"
          ? { case: v.case, value: create(BuildVersionSchema, { version: v.value.version }) }
          : undefined,
  });
}
