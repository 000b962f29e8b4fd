// The dashboard's live feed (GET /ui/events, server-sent events): what changed in the fleet since the last message —
// the status of each node that connected, was sent, ACKed or NACKed something (as /nodes shows it), the nodes gone —
// and which config history entry is new or moved on. One listener of the server's events (observers/events.ts).
//
// Cheap on the push path: with no page open an event costs a size check; with pages open, it adds the node's id to a
// set. The set is turned into statuses at most every `coalesceMs` (one pass over the clients), serialized once and
// written to every page. A page that does not read (its socket still holds the previous message) is not queued for:
// it misses messages, and when its socket drains it is told to `resync` (fetch /nodes again), so a slow page costs at
// most one message of memory.
import type { ServerResponse } from "node:http";
import { describeNode } from "../cache/node-hash.js";
import type { NodeStatuses } from "../server/node-status.js";
import type { NackInfo, StreamInfo, XdsServerEvents } from "../server/observers/events.js";

/** At most this many messages a second reach a page: a fleet-wide push is a few messages, not one per proxy. */
export const coalesceMs = 250;
/** A comment line this often keeps idle connections open through proxies that time them out. */
const keepAliveMs = 15_000;
/** What a page's EventSource waits before it reconnects (the SSE `retry:` field). */
const reconnectMs = 1_000;

interface Page {
  readonly res: ServerResponse;
  /** Missed a message because its socket was full: told to resync once it drains. */
  behind: boolean;
}

export interface UiEventsOptions {
  nodes: NodeStatuses;
  /** Tests pass fakes; by default unref'd timers. */
  setTimer?: (run: () => void, ms: number) => () => void;
}

export class UiEvents implements XdsServerEvents {
  readonly #pages = new Set<Page>();
  readonly #dirty = new Set<string>();
  #changes: number | undefined;
  #cancelFlush: (() => void) | undefined;
  #cancelKeepAlive: (() => void) | undefined;
  readonly #setTimer: (run: () => void, ms: number) => () => void;

  constructor(private readonly o: UiEventsOptions) {
    this.#setTimer = o.setTimer ?? unrefTimeout;
  }

  /** Pages following the feed. */
  get pages(): number {
    return this.#pages.size;
  }

  /** Serves the feed on `res` until the page goes away. */
  follow(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    const page: Page = { res, behind: false };
    this.#pages.add(page);
    res.on("close", () => this.#pages.delete(page));
    res.on("drain", () => {
      if (!page.behind) return;
      page.behind = false;
      this.#write(page, "event: resync\ndata: {}\n\n");
    });
    this.#write(page, `retry: ${reconnectMs}\nevent: hello\ndata: {}\n\n`);
    this.#keepAlive();
  }

  /** A config history entry was added or updated (ChangeHistoryOptions.onChange). */
  changed(seq: number): void {
    if (this.#pages.size === 0) return;
    this.#changes = Math.max(seq, this.#changes ?? 0);
    this.#flushSoon();
  }

  nodeIdentified(stream: StreamInfo): void {
    this.#touch(stream);
  }
  streamClosed(stream: StreamInfo): void {
    this.#touch(stream);
  }
  response(stream: StreamInfo): void {
    this.#touch(stream);
  }
  ack(stream: StreamInfo): void {
    this.#touch(stream);
  }
  nack(stream: StreamInfo, _nack: NackInfo): void {
    this.#touch(stream);
  }

  close(): void {
    this.#cancelFlush?.();
    this.#cancelKeepAlive?.();
    for (const page of this.#pages) page.res.end();
    this.#pages.clear();
  }

  #touch(stream: StreamInfo): void {
    if (this.#pages.size === 0 || !stream.node) return;
    this.#dirty.add(describeNode(stream.node));
    this.#flushSoon();
  }

  #flushSoon(): void {
    this.#cancelFlush ??= this.#setTimer(() => {
      this.#cancelFlush = undefined;
      this.#flush();
    }, coalesceMs);
  }

  #flush(): void {
    let message = "";
    if (this.#dirty.size > 0) {
      const nodes = this.o.nodes.statuses(this.#dirty);
      const present = new Set(nodes.map((n) => n.node));
      const gone = [...this.#dirty].filter((id) => !present.has(id));
      this.#dirty.clear();
      message += `event: nodes\ndata: ${JSON.stringify({ nodes, gone })}\n\n`;
    }
    if (this.#changes !== undefined) {
      message += `event: changes\ndata: ${JSON.stringify({ seq: this.#changes })}\n\n`;
      this.#changes = undefined;
    }
    if (message === "") return;
    for (const page of this.#pages) {
      // A page whose socket still holds what it was sent last misses this message: it resyncs once it drains.
      if (page.behind || page.res.writableNeedDrain) page.behind = true;
      else this.#write(page, message);
    }
  }

  #write(page: Page, text: string): void {
    // When this fills the socket, the next flush finds writableNeedDrain set and marks the page behind.
    page.res.write(text);
  }

  #keepAlive(): void {
    this.#cancelKeepAlive ??= this.#setTimer(() => {
      this.#cancelKeepAlive = undefined;
      if (this.#pages.size === 0) return;
      for (const page of this.#pages) if (!page.res.writableNeedDrain) page.res.write(": keep-alive\n\n");
      this.#keepAlive();
    }, keepAliveMs);
  }
}

function unrefTimeout(run: () => void, ms: number): () => void {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
}
