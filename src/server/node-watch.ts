// Which node a stream serves, and the cache watch that tells it when that node's snapshot changes: the same for
// every protocol. The node is only guaranteed on a stream's first request (Envoy's set_node_on_first_message_only,
// gRPC always); Envoy may send it again, changed, when its dynamic context parameters change, and the stream then
// follows it to its new key (xDS protocol checklist A.3). A node over a limit of node-limits.ts ends the stream
// before it is kept.
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import { StreamProtocolError } from "../errors.js";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import type { StreamInfo, XdsServerEvents } from "./observers/events.js";
import { checkNode, type NodeLimits } from "./node-limits.js";
import { defaultTransportLimits } from "./transport/transport-limits.js";

export class NodeWatch {
  #cancel: (() => void) | undefined;

  constructor(
    private readonly source: SnapshotSource,
    private readonly info: StreamInfo,
    /** Called when the node's snapshot changes (through `schedule`, if given) and when the node moves to another key. */
    private readonly onChange: () => void,
    private readonly schedule?: (push: () => void) => void,
    private readonly events?: XdsServerEvents,
    private readonly limits: NodeLimits = defaultTransportLimits,
  ) {}

  /**
   * Takes the node of a request (absent after the first is fine). Throws if the first request has none, or if the
   * node is over a limit (NodeLimitError).
   */
  identify(node: Node | undefined): void {
    const info = this.info;
    if (!info.node) {
      if (!node) throw new StreamProtocolError("the first request of a stream must carry the node");
    } else if (!node) {
      return;
    }
    // The request decoder hands back the same object while the node's bytes do not change: checked once.
    if (node !== info.node) checkNode(node, this.limits);
    const key = this.source.nodeKey(node);
    const first = !info.node;
    info.node = node;
    if (key === info.nodeKey) return;
    info.nodeKey = key;
    this.#cancel?.();
    const schedule = this.schedule;
    const push = this.onChange;
    this.#cancel = this.source.watch(key, schedule ? () => schedule(push) : push);
    if (first) this.events?.nodeIdentified?.(info);
    else this.onChange();
  }

  close(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }
}
