// What every client of a server holds, read from the one record the protocols keep (client-state.ts): the clients
// are the open streams and the REST pollers remembered, and each has, per type, the version sent, the version ACKed,
// the last NACK, when, and per resource the version it was sent. /nodes (node-status.ts), CSDS and metrics read
// this rather than rebuilding it from events, so they cannot disagree with what the streams do.
import type { ClientTypeState } from "./client-state.js";
import type { StreamInfo } from "./observers/events.js";

/** One client: an open stream, or a REST poller remembered. */
export interface ClientRecord {
  readonly info: StreamInfo;
  /** Its state of each type it asked for (live objects: read them, never change them). */
  types(): Iterable<ClientTypeState>;
}

/** The clients a server serves now. */
export interface ClientStatusReader {
  clients(): Iterable<ClientRecord>;
}

/** The clients of several servers (the daemon's xDS port and its REST-only port) as one reader. */
export function allClients(readers: readonly ClientStatusReader[]): ClientStatusReader {
  return {
    *clients() {
      for (const r of readers) yield* r.clients();
    },
  };
}
