// Which snapshot a node gets. The node's identity (for status and logs) is kept apart from this key, so that a
// thousand identical sidecars can share one group key and one snapshot (go-control-plane issue #62).
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";

export type NodeHash = (node: Node) => string;

/** The default key, `<node.cluster>/<node.id>` (e.g. `cluster.local/node0`). */
export const clusterSlashId: NodeHash = (node) => `${node.cluster}/${node.id}`;

/** A node's identity for display: its id, and cluster when it has one. */
export function describeNode(node: Node | undefined): string {
  if (!node) return "(no node)";
  return node.cluster ? `${node.cluster}/${node.id}` : node.id;
}
