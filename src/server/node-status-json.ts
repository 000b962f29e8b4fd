// The JSON of GET /nodes: which connected node has which version of each type, and what it rejected. Its own
// module, importing nothing, because two programs read it: the daemon, which answers it (node-status.ts), and the
// dashboard, which shows it (ui/app.ts, type-checked without Node's types).

export interface TypeStatus {
  /** Version of the latest response sent. */
  sentVersion?: string;
  sentAt?: string;
  /** Version the node last acknowledged. */
  ackedVersion?: string;
  ackedAt?: string;
  /** The latest NACK, kept until the node ACKs a later response. */
  lastNack?: { rejectedVersion: string; keptVersion: string; code: number; message: string; at: string };
  nacks: number;
}

export interface NodeStatus {
  node: string;
  nodeKey: string;
  /** The node's `cluster` (Envoy's --service-cluster), when it says one. */
  cluster?: string;
  /** What the client certificate of its latest stream names (mutual TLS); absent over plaintext. */
  identity?: string;
  userAgent?: string;
  streams: number;
  /** Open streams by service (`ads`, `delta-ads`, `eds`…): which protocol and mode the node really uses. */
  services: Record<string, number>;
  connectedAt: string;
  /** By short type name (`cds`, `eds`…). */
  types: Record<string, TypeStatus>;
}

/** One page of the connected nodes (GET /nodes). */
export interface NodeStatusPage {
  /** Sorted by identity (code point order). */
  nodes: NodeStatus[];
  /** Nodes connected in all. */
  total: number;
  /** When there are more: the identity to ask the next page after. */
  next?: string;
}
