// What one connected node holds against what xdsd would send it now (GET /nodes/{node}, `xdsd status NODE_ID`): per
// type it subscribes to, each resource's version as it was last sent to the node and as the node's snapshot has it
// now, and which differ — changed, still to send, to be removed. Read from the client state (client-status.ts) and
// the snapshot the node is served, computed when asked; nothing is kept.
//
// "Held" is what the node ACKed last (client-state.ts `acked`): while a response awaits its answer (STALE) and after
// a NACK the node keeps what it had, and `sent` says what is on its way or was rejected.
import { describeNode } from "../cache/node-hash.js";
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import type { ClientRecord, ClientStatusReader } from "./client-status.js";
import { subscribedResources } from "./client-state.js";

export interface ResourceDiff {
  name: string;
  /** The version the node holds (ACKed); absent: it holds none. */
  held?: string;
  /** The version last sent, when it is not the one held: on its way (STALE) or rejected (NACKED). */
  sent?: string;
  /** The version the node's snapshot has now; absent: the node would not be sent it (removed, or not subscribed). */
  current?: string;
}

export interface TypeDiff {
  /** ACKED: the node took what it was sent; STALE: sent, no answer yet; NACKED: rejected. */
  status: "ACKED" | "STALE" | "NACKED";
  /** The version_info of the latest response of the type sent to the node. */
  sent_version: string;
  /** After a NACK: the version the node keeps, and its error. */
  kept_version?: string;
  error?: string;
  /** Nothing changed, missing or extra, and ACKED: the node holds what xdsd serves. */
  in_sync: boolean;
  /** Every resource held or current, by name. */
  resources: ResourceDiff[];
  /** Held at another version than the current one. */
  changed: string[];
  /** Current and not held: to be sent. */
  missing: string[];
  /** Held and no longer current: to be removed (full-state types drop them with the next response). */
  extra: string[];
}

export interface NodeDiff {
  node: string;
  nodeKey: string;
  /** Every type in sync. */
  in_sync: boolean;
  /** By short type name (`cds`, `eds`…). */
  types: Record<string, TypeDiff>;
}

/** `node` is `cluster/id` (as /nodes names it) or the bare node id; undefined when no such node is connected. */
export function nodeDiff(reader: ClientStatusReader, source: SnapshotSource, node: string): NodeDiff | undefined {
  const clients = [...reader.clients()].filter((c) => servedConfig(c) && c.info.node && (describeNode(c.info.node) === node || c.info.node.id === node));
  return clients.length === 0 ? undefined : diffOf(clients, source);
}

/**
 * The diffs of several nodes (`cluster/id`, as /nodes names them), in their order, each connected one's: one pass
 * over the clients for all of them (`xdsd status --version` asks for a page of /nodes at a time).
 */
export function nodeDiffs(reader: ClientStatusReader, source: SnapshotSource, nodes: readonly string[]): NodeDiff[] {
  const wanted = new Map<string, ClientRecord[]>(nodes.map((n) => [n, []]));
  for (const c of reader.clients()) if (servedConfig(c) && c.info.node) wanted.get(describeNode(c.info.node))?.push(c);
  return [...wanted.values()].filter((clients) => clients.length > 0).map((clients) => diffOf(clients, source));
}

/** A client that is served config (a discovery stream or a REST poller), not one that reports loads (LRS). */
function servedConfig(c: ClientRecord): boolean {
  return c.info.protocol === "sotw" || c.info.protocol === "delta" || c.info.protocol === "rest";
}

/** One node's diff, from its clients (streams and REST pollers). */
function diffOf(clients: readonly ClientRecord[], source: SnapshotSource): NodeDiff {
  const types: Record<string, TypeDiff> = {};
  let nodeKey = "";
  for (const client of clients) {
    nodeKey ||= client.info.nodeKey ?? "";
    const snapshot = client.info.nodeKey === undefined ? undefined : source.snapshotFor(client.info.nodeKey);
    for (const state of client.types()) {
      const short = state.type.short;
      const diff = (types[short] ??= {
        status: "ACKED",
        sent_version: state.sentVersionInfo,
        in_sync: true,
        resources: [],
        changed: [],
        missing: [],
        extra: [],
      });
      // Several streams of a type (EDS without ADS: one per cluster): the worst status, each stream's resources.
      if (state.lastNack) {
        diff.status = "NACKED";
        diff.kept_version = state.lastNack.keptVersion;
        diff.error = state.lastNack.message;
      } else if (state.awaitingReply && diff.status === "ACKED") diff.status = "STALE";
      const current = new Map(snapshot ? subscribedResources(snapshot, state.type.typeUrl, state.subscription).map((r) => [r.name, r.version]) : []);
      // `acked` is rebuilt from the undo record on every read while a change awaits its ACK (client-state.ts): once.
      const { acked, sent: sentNow } = state;
      const names = new Set([...acked.keys(), ...sentNow.keys(), ...current.keys()]);
      for (const name of names) {
        const held = acked.get(name);
        const sent = sentNow.get(name);
        const now = current.get(name);
        diff.resources.push({
          name,
          ...(held === undefined ? {} : { held }),
          ...(sent === undefined || sent === held ? {} : { sent }),
          ...(now === undefined ? {} : { current: now }),
        });
        if (held === undefined && now === undefined) continue;
        if (held !== undefined && now !== undefined && held !== now) diff.changed.push(name);
        else if (held === undefined) diff.missing.push(name);
        else if (now === undefined) diff.extra.push(name);
      }
    }
  }
  let inSync = true;
  for (const diff of Object.values(types)) {
    diff.resources.sort((a, b) => compare(a.name, b.name));
    for (const list of [diff.changed, diff.missing, diff.extra]) list.sort(compare);
    diff.in_sync = diff.status === "ACKED" && diff.changed.length === 0 && diff.missing.length === 0 && diff.extra.length === 0;
    inSync &&= diff.in_sync;
  }
  return { node: describeNode(clients[0].info.node), nodeKey, in_sync: inSync, types };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
