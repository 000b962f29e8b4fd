// Server events as log lines: one per stream opened or closed, ACK and NACK. Responses are logged too, since
// "what did we send, and when" is the first question when a proxy misbehaves.
import type { Logger } from "../log.js";
import { describeNode } from "../cache/node-hash.js";
import { findResourceType } from "../resource/types.js";
import type { StreamInfo, XdsServerEvents } from "./events.js";

const short = (typeUrl: string) => findResourceType(typeUrl)?.short ?? typeUrl;
const who = (s: StreamInfo) => `stream=${s.id} node=${describeNode(s.node)}`;

export function loggingEvents(log: Logger): XdsServerEvents {
  return {
    streamOpened: (s) => log.info(`stream open id=${s.id} service=${s.service} peer=${s.peer}`),
    nodeIdentified: (s) => log.info(`node ${who(s)} key=${s.nodeKey} agent=${s.node?.userAgentName || "-"}`),
    streamClosed: (s, reason) => log.info(`stream close ${who(s)} reason="${reason}"`),
    response: (s, r) => log.info(`send ${who(s)} type=${short(r.typeUrl)} version=${r.versionInfo} nonce=${r.nonce} resources=${r.resources.length}`),
    ack: (s, typeUrl, version, nonce) => log.info(`ACK ${who(s)} type=${short(typeUrl)} version=${version} nonce=${nonce}`),
    nack: (s, n) =>
      log.warn(`NACK ${who(s)} type=${short(n.typeUrl)} rejected=${n.rejectedVersion} kept=${n.versionInfo || "-"} nonce=${n.nonce} code=${n.code} error=${JSON.stringify(n.message)}`),
    ignored: (s, r, why) => log.info(`ignored ${who(s)} type=${short(r.typeUrl)}: ${why}`),
  };
}
