// The dashboard's live feed (admin/ui-events.ts): events of many proxies coalesce into one message per flush, with
// each changed node's status and the nodes gone; a page that stops reading is not queued for — it misses messages
// and is told to resync once its socket drains, so its memory stays bounded.
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { UiEvents } from "../../src/admin/ui-events.js";
import type { NodeStatus, NodeStatuses } from "../../src/server/node-status.js";
import type { StreamInfo } from "../../src/server/observers/events.js";
import { node } from "../support/resources.js";

/** Node statuses answered by a fake: every asked id is connected unless `gone`, with `padding` bytes of user agent. */
function fakeNodes(gone: Set<string>, padding = 0): NodeStatuses {
  return {
    statuses: (ids: ReadonlySet<string>) =>
      [...ids]
        .filter((id) => !gone.has(id))
        .map((id): NodeStatus => ({ node: id, nodeKey: "", streams: 1, services: { ads: 1 }, connectedAt: "", types: {}, userAgent: "x".repeat(padding) })),
  } as unknown as NodeStatuses;
}

function stream(id: string): StreamInfo {
  return { id: 1, protocol: "sotw", service: "ads", peer: "127.0.0.1:1", openedAt: 0, node: node(id, "c") };
}

/** A server whose every request follows `events`; the flush timer fired by hand. */
async function serve(events: UiEvents): Promise<{ server: Server; port: number; responses: ServerResponse[] }> {
  const responses: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    responses.push(res);
    events.follow(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, responses };
}

function manualTimers() {
  const due: (() => void)[] = [];
  return {
    setTimer: (run: () => void) => {
      due.push(run);
      return () => void due.splice(due.indexOf(run) >>> 0, 1);
    },
    fire() {
      for (const run of due.splice(0)) run();
    },
  };
}

/** A raw client of the feed: what it has read so far. */
function client(port: number): Promise<{ socket: Socket; text: () => string }> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect(port, "127.0.0.1", () => {
      socket.write("GET /ui/events HTTP/1.1\r\nHost: x\r\n\r\n");
      resolve({ socket, text: () => text });
    });
    socket.on("data", (d) => (text += d.toString("latin1")));
  });
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("events of a thousand proxies coalesce into one message with each changed node, and those gone", async () => {
  const timers = manualTimers();
  const gone = new Set(["c/n7"]);
  const events = new UiEvents({ nodes: fakeNodes(gone), setTimer: timers.setTimer });
  const { server, port } = await serve(events);
  const page = await client(port);
  await until("hello", () => page.text().includes("event: hello"));
  for (let i = 0; i < 1000; i++) {
    events.response(stream(`n${i}`));
    events.ack(stream(`n${i}`));
  }
  events.changed(3);
  timers.fire();
  await until("the message", () => page.text().includes("event: changes"));
  const messages = page.text().split("event: nodes\ndata: ");
  assert.equal(messages.length, 2, "one nodes message");
  const body = JSON.parse(messages[1].split("\n")[0]) as { nodes: NodeStatus[]; gone: string[] };
  assert.equal(body.nodes.length, 999);
  assert.deepEqual(body.gone, ["c/n7"]);
  assert.match(page.text(), /event: changes\ndata: \{"seq":3\}/);
  page.socket.destroy();
  events.close();
  server.close();
});

test("a page that stops reading is not queued for: it misses messages and resyncs once it drains", async () => {
  const timers = manualTimers();
  const events = new UiEvents({ nodes: fakeNodes(new Set(), 64 * 1024), setTimer: timers.setTimer });
  const { server, port, responses } = await serve(events);
  const page = await client(port);
  await until("hello", () => page.text().includes("event: hello"));
  page.socket.pause();
  // 200 flushes of 16 nodes × 64 kB: 200 MB if queued; the page's socket holds a few MB at most.
  let largest = 0;
  for (let i = 0; i < 200; i++) {
    for (let n = 0; n < 16; n++) events.ack(stream(`n${n}`));
    timers.fire();
    await new Promise(setImmediate);
    largest = Math.max(largest, responses[0].writableLength);
  }
  assert.ok(largest < 4 * 1024 * 1024, `the page's unsent bytes stayed bounded (${largest} at most)`);
  page.socket.resume();
  await until("resync", () => page.text().includes("event: resync"), 10_000);
  const nodeMessages = page.text().split("event: nodes").length - 1;
  assert.ok(nodeMessages < 200, `messages were dropped, not queued (${nodeMessages} delivered)`);
  page.socket.destroy();
  events.close();
  server.close();
});
