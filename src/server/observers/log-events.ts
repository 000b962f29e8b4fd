// Server events as log lines: a node identified, a stream closed and a NACK at the default level; the stream opened,
// every request and response ("what did it ask, what did we send, and when", the first questions when a proxy
// misbehaves) and every ACK at debug (log.ts), where they are not even formatted unless the logger has a debug
// level.
import type { Logger } from "../../log.js";
import { describeNode } from "../../cache/node-hash.js";
import { findResourceType } from "../../resource/types.js";
import type { StreamInfo, XdsServerEvents } from "./events.js";

const short = (typeUrl: string) => findResourceType(typeUrl)?.short ?? typeUrl;
const who = (s: StreamInfo) => `stream=${s.id} node=${describeNode(s.node)}`;

/** A list of names for a log line: the first few, and how many more (a SotW request may name thousands). */
function names(list: readonly string[]): string {
  const shown = list.slice(0, 8).map((n) => JSON.stringify(n));
  return `[${shown.join(",")}${list.length > shown.length ? `,…+${list.length - shown.length}` : ""}]`;
}

export function loggingEvents(log: Logger): XdsServerEvents {
  const debug = log.debug?.bind(log);
  const events: XdsServerEvents = {
    nodeIdentified: (s) => log.info(`node ${who(s)} key=${s.nodeKey} agent=${s.node?.userAgentName || "-"}`),
    streamClosed: (s, reason) => log.info(`stream close ${who(s)} reason="${reason}"`),
    nack: (s, n) =>
      log.warn(
        `NACK ${who(s)} type=${short(n.typeUrl)} rejected=${n.rejectedVersion} kept=${n.versionInfo || "-"} nonce=${n.nonce} code=${n.code} error=${JSON.stringify(n.message)}`,
      ),
    denied: (s, reason) => log.warn(`PERMISSION_DENIED ${who(s)} service=${s.service} peer=${s.peer}: ${reason}`),
  };
  if (debug) {
    events.streamOpened = (s) => debug(`stream open id=${s.id} service=${s.service} peer=${s.peer}`);
    events.request = (s, r) =>
      debug(
        `recv ${who(s)} type=${short(r.typeUrl)} nonce=${r.responseNonce || "-"} ` +
          ("resourceNamesSubscribe" in r
            ? `subscribe=${names(r.resourceNamesSubscribe)} unsubscribe=${names(r.resourceNamesUnsubscribe)}`
            : `version=${r.versionInfo || "-"} names=${names(r.resourceNames)}`),
      );
    events.response = (s, r) =>
      debug(
        `${r.heartbeat ? "heartbeat" : "send"} ${who(s)} type=${short(r.typeUrl)} version=${r.versionInfo} nonce=${r.nonce} resources=${r.resources.length}` +
          (r.removed ? ` removed=${r.removed.length}` : "") +
          (r.aliases ? ` aliases=${names([...r.aliases].map(([name, aliases]) => `${aliases.join("|")}->${name}`))}` : "") +
          (r.unresolved ? ` unresolved=${names(r.unresolved)}` : ""),
      );
    events.ack = (s, typeUrl, version, nonce) => debug(`ACK ${who(s)} type=${short(typeUrl)} version=${version} nonce=${nonce}`);
    events.ignored = (s, r, why) => debug(`ignored ${who(s)} type=${short(r.typeUrl)}: ${why}`);
  }
  return events;
}
