// Which connected node has which version of each type, and what it rejected: the answer to "did my change reach
// the proxies?" (GET /nodes). A view of the client state (client-status.ts), computed when asked: a node is there
// while it has a stream open or a REST poller remembered, so what it costs follows the connected population
// (go-control-plane issue #597).
import { describeNode } from "../cache/node-hash.js";
import type { ClientStatusReader } from "./client-status.js";
import type { ClientTypeState } from "./client-state.js";
import type { StreamInfo } from "./observers/events.js";
import type { NodeStatus, NodeStatusPage, TypeStatus } from "./node-status-json.js";

export type { NodeStatus, NodeStatusPage, TypeStatus };

/** The connected nodes of a server (or of several: allClients), read from their client state. */
export class NodeStatuses {
  constructor(private readonly reader: ClientStatusReader) {}

  /** Every connected node, sorted by identity. */
  list(): NodeStatus[] {
    return this.page({ limit: Number.POSITIVE_INFINITY }).nodes;
  }

  /**
   * At most `limit` nodes, those whose identity sorts after `after` (a cursor stays valid while nodes come and go;
   * an offset would skip or repeat some), and how many are connected in all (issue 18: /nodes listed 2,000 pollers
   * with 100 kB ids in one 415 MB answer). Only the nodes of the page are built.
   */
  page(options: { after?: string; limit: number }): NodeStatusPage {
    const { after, limit } = options;
    const byNode = new Map<string, { info: StreamInfo; types: Iterable<ClientTypeState> }[]>();
    for (const client of this.reader.clients()) {
      if (!client.info.node) continue;
      const id = describeNode(client.info.node);
      let list = byNode.get(id);
      if (!list) byNode.set(id, (list = []));
      list.push({ info: client.info, types: client.types() });
    }
    // Code point order, not localeCompare: it is many times faster over thousands of nodes, and a cursor needs only
    // a total order.
    const ids = [...byNode.keys()].filter((id) => after === undefined || id > after).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const shown = ids.length > limit ? ids.slice(0, limit) : ids;
    const page: NodeStatusPage = { nodes: shown.map((id) => statusOf(id, byNode.get(id)!)), total: byNode.size };
    if (ids.length > shown.length && shown.length > 0) page.next = shown[shown.length - 1];
    return page;
  }

  /** The status of each of `ids` still connected, in one pass over the clients (the dashboard's live feed). */
  statuses(ids: ReadonlySet<string>): NodeStatus[] {
    const byNode = new Map<string, { info: StreamInfo; types: Iterable<ClientTypeState> }[]>();
    for (const client of this.reader.clients()) {
      if (!client.info.node) continue;
      const id = describeNode(client.info.node);
      if (!ids.has(id)) continue;
      let list = byNode.get(id);
      if (!list) byNode.set(id, (list = []));
      list.push({ info: client.info, types: client.types() });
    }
    return [...byNode].map(([id, clients]) => statusOf(id, clients));
  }

  get(node: string): NodeStatus | undefined {
    const clients = [...this.reader.clients()].filter((c) => c.info.node && describeNode(c.info.node) === node);
    return clients.length === 0
      ? undefined
      : statusOf(
          node,
          clients.map((c) => ({ info: c.info, types: c.types() })),
        );
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** One node's status from its clients: per type, the latest of what any of its streams was sent, ACKed, NACKed. */
function statusOf(id: string, clients: { info: StreamInfo; types: Iterable<ClientTypeState> }[]): NodeStatus {
  const newest = clients.reduce((a, b) => (b.info.openedAt >= a.info.openedAt ? b : a));
  const oldest = clients.reduce((a, b) => (b.info.openedAt < a.info.openedAt ? b : a));
  const services: Record<string, number> = {};
  const latest = new Map<string, { sent?: ClientTypeState; acked?: ClientTypeState; nacked?: ClientTypeState; nacks: number }>();
  for (const { info, types } of clients) {
    services[info.service] = (services[info.service] ?? 0) + 1;
    for (const state of types) {
      const short = state.type.short;
      let t = latest.get(short);
      if (!t) latest.set(short, (t = { nacks: 0 }));
      t.nacks += state.nacks;
      if (state.sentAt !== undefined && (t.sent?.sentAt ?? -1) <= state.sentAt) t.sent = state;
      if (state.ackedAt !== undefined && (t.acked?.ackedAt ?? -1) <= state.ackedAt) t.acked = state;
      if (state.lastNack && (t.nacked?.lastNack?.at ?? -1) <= state.lastNack.at) t.nacked = state;
    }
  }
  const types: Record<string, TypeStatus> = {};
  for (const [short, t] of latest) {
    const nack = t.nacked?.lastNack;
    // A NACK answered since by an ACK of a later response is over.
    const open = nack && !(t.acked?.ackedAt !== undefined && t.acked.ackedAt > nack.at);
    types[short] = {
      nacks: t.nacks,
      ...(t.sent ? { sentVersion: t.sent.sentVersionInfo, sentAt: iso(t.sent.sentAt) } : {}),
      ...(t.acked ? { ackedVersion: t.acked.ackedVersionInfo, ackedAt: iso(t.acked.ackedAt) } : {}),
      ...(open ? { lastNack: { ...nack, at: iso(nack.at)! } } : {}),
    };
  }
  const node = newest.info.node!;
  return {
    node: id,
    nodeKey: newest.info.nodeKey ?? "",
    ...(node.cluster ? { cluster: node.cluster } : {}),
    ...(newest.info.identity === undefined ? {} : { identity: newest.info.identity }),
    userAgent: [node.userAgentName, versionOf(newest.info)].filter(Boolean).join(" ") || undefined,
    streams: clients.length,
    services,
    connectedAt: new Date(oldest.info.openedAt).toISOString(),
    types,
  };
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
