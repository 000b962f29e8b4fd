// Which connected node has which version of each type, and what it rejected: the answer to "did my change reach
// the proxies?". Fed by the server's events. A node's entry is dropped when its last stream closes, so memory
// follows the connected population (go-control-plane issue #597).
import { findResourceType } from "../../resource/types.js";
import { describeNode } from "../../cache/node-hash.js";
import type { NackInfo, ResponseInfo, StreamInfo, XdsServerEvents } from "./events.js";

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

export class NodeStatusTracker implements XdsServerEvents {
  readonly #nodes = new Map<string, NodeStatus>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  nodeIdentified(stream: StreamInfo): void {
    const id = describeNode(stream.node);
    let status = this.#nodes.get(id);
    if (!status) {
      status = {
        node: id,
        nodeKey: stream.nodeKey ?? "",
        ...(stream.identity === undefined ? {} : { identity: stream.identity }),
        userAgent: [stream.node?.userAgentName, versionOf(stream)].filter(Boolean).join(" ") || undefined,
        streams: 0,
        services: {},
        connectedAt: this.#now().toISOString(),
        types: {},
      };
      this.#nodes.set(id, status);
    }
    status.streams++;
    status.services[stream.service] = (status.services[stream.service] ?? 0) + 1;
  }

  streamClosed(stream: StreamInfo): void {
    if (!stream.node) return;
    const id = describeNode(stream.node);
    const status = this.#nodes.get(id);
    if (!status) return;
    if (--status.streams <= 0) {
      this.#nodes.delete(id);
      return;
    }
    if (--status.services[stream.service] <= 0) delete status.services[stream.service];
  }

  response(stream: StreamInfo, response: ResponseInfo): void {
    const t = this.#type(stream, response.typeUrl);
    if (!t) return;
    t.sentVersion = response.versionInfo;
    t.sentAt = this.#now().toISOString();
  }

  ack(stream: StreamInfo, typeUrl: string, versionInfo: string): void {
    const t = this.#type(stream, typeUrl);
    if (!t) return;
    t.ackedVersion = versionInfo;
    t.ackedAt = this.#now().toISOString();
    t.lastNack = undefined;
  }

  nack(stream: StreamInfo, nack: NackInfo): void {
    const t = this.#type(stream, nack.typeUrl);
    if (!t) return;
    t.nacks++;
    t.lastNack = {
      rejectedVersion: nack.rejectedVersion,
      keptVersion: nack.versionInfo,
      code: nack.code,
      message: nack.message,
      at: this.#now().toISOString(),
    };
  }

  /** Every connected node, sorted by identity. */
  list(): NodeStatus[] {
    return this.page({ limit: Number.POSITIVE_INFINITY }).nodes;
  }

  /**
   * At most `limit` nodes, those whose identity sorts after `after` (a cursor stays valid while nodes come and go;
   * an offset would skip or repeat some), and how many are connected in all (issue 18: /nodes listed 2,000 pollers
   * with 100 kB ids in one 415 MB answer).
   */
  page(options: { after?: string; limit: number }): NodeStatusPage {
    const { after, limit } = options;
    const all = [...this.#nodes.values()];
    // Code point order, not localeCompare: it is many times faster over thousands of nodes, and a cursor needs only
    // a total order.
    const sorted = (after === undefined ? all : all.filter((n) => n.node > after)).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    const nodes = sorted.length > limit ? sorted.slice(0, limit) : sorted;
    const page: NodeStatusPage = { nodes, total: all.length };
    if (sorted.length > nodes.length && nodes.length > 0) page.next = nodes[nodes.length - 1].node;
    return page;
  }

  get(node: string): NodeStatus | undefined {
    return this.#nodes.get(node);
  }

  #type(stream: StreamInfo, typeUrl: string): TypeStatus | undefined {
    const status = stream.node ? this.#nodes.get(describeNode(stream.node)) : undefined;
    if (!status) return undefined;
    const short = findResourceType(typeUrl)?.short ?? typeUrl;
    return (status.types[short] ??= { nacks: 0 });
  }
}

function versionOf(stream: StreamInfo): string | undefined {
  const v = stream.node?.userAgentVersionType;
  if (v?.case === "userAgentVersion") return v.value;
  if (v?.case === "userAgentBuildVersion" && v.value.version) {
    const { majorNumber, minorNumber, patch } = v.value.version;
    return `${majorNumber}.${minorNumber}.${patch}`;
  }
  return undefined;
}
