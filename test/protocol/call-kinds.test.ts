// Every kind of gRPC call — unary, client-streaming, server-streaming, bidirectional — on both transports (XdsServer's
// own layer on node:http2, and grpc-js through addXdsServices), each ending with OK or with a status, driven by a
// real grpc-js client. The services are table entries written here (messages are raw bytes): the transports and
// XdsCalls must serve any entry of the table by its kind, which is what CSDS (unary) and LRS will need.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { addXdsServices } from "../../src/server/transport/grpc-js-transport.js";
import type { CallKind, CallReply, ProtocolStream, XdsService } from "../../src/server/service-table.js";
import type { WireResponse } from "../../src/server/transport/wire-response.js";
import { GrpcStatus, encodeGrpcMessage } from "../../src/grpc-status.js";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const bytes = (s: string): WireResponse => ({ body: Buffer.from(s), nonceField: new Uint8Array() });
/** Reasons the server-side state machines were closed with, by method. */
const closedWith = new Map<string, string[]>();

/**
 * A test service of `kind`. Each request is text: "fail" ends the call with FAILED_PRECONDITION; otherwise the
 * unary and server-streaming methods answer at once (server-streaming: the request three times, then OK) — a unary
 * "later" is answered at the client's half-close instead — and the streaming-request methods answer each message
 * (bidi) or their count at the client's half-close (client-streaming).
 */
function service(kind: CallKind): XdsService<string> {
  const path = `/xdsd.test.Kinds/${kind}`;
  return {
    kind: "grpc",
    callKind: kind,
    protocol: "sotw",
    path,
    label: kind,
    decoder: () => (message) => Buffer.from(message).toString(),
    start(_context, _info, reply: CallReply): ProtocolStream<string> {
      const seen: string[] = [];
      return {
        handleRequest(request) {
          if (request === "fail") return reply.fail(GrpcStatus.FAILED_PRECONDITION, `refused ${kind}`);
          seen.push(request);
          if (kind === "unary" && request !== "later") {
            reply.send(bytes(`unary:${request}`));
            reply.end();
          } else if (kind === "server_streaming") {
            for (let i = 1; i <= 3; i++) reply.send(bytes(`${request}#${i}`));
            reply.end();
          } else if (kind === "bidi_streaming") reply.send(bytes(`echo:${request}`));
        },
        requestsEnded() {
          if (kind === "client_streaming") reply.send(bytes(`count:${seen.length}:${seen.join(",")}`));
          if (kind === "unary") reply.send(bytes(`unary:${seen[0]}`));
          reply.end();
        },
        close(reason) {
          closedWith.set(path, [...(closedWith.get(path) ?? []), reason]);
        },
      };
    },
  };
}

const services = (["unary", "client_streaming", "server_streaming", "bidi_streaming"] as const).map(service);

async function ownTransport(): Promise<string> {
  const server = new XdsServer({ cache: new SnapshotCache(), services });
  const port = await server.listen("127.0.0.1:0");
  cleanups.push(() => server.close(200));
  return `127.0.0.1:${port}`;
}

async function grpcJsTransport(): Promise<string> {
  const server = new grpc.Server();
  addXdsServices(server, { cache: new SnapshotCache() }, services);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return `127.0.0.1:${port}`;
}

const toBytes = (s: string) => Buffer.from(s);
const fromBytes = (b: Buffer) => b.toString();

function client(address: string): grpc.Client {
  const c = new grpc.Client(address, grpc.credentials.createInsecure());
  cleanups.push(() => c.close());
  return c;
}

function unary(c: grpc.Client, method: string, request: string): Promise<string> {
  return new Promise((resolve, reject) =>
    c.makeUnaryRequest(`/xdsd.test.Kinds/${method}`, toBytes, fromBytes, request, (err, value) => (err ? reject(err) : resolve(value!))),
  );
}

function clientStreaming(c: grpc.Client, requests: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = c.makeClientStreamRequest("/xdsd.test.Kinds/client_streaming", toBytes, fromBytes, (err, value) => (err ? reject(err) : resolve(value!)));
    for (const r of requests) call.write(r);
    call.end();
  });
}

/** The messages a response stream carried and the status it ended with. */
function collect(
  call: grpc.ClientReadableStream<string> | grpc.ClientDuplexStream<string, string>,
): Promise<{ messages: string[]; status: grpc.StatusObject }> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    call.on("data", (m: string) => messages.push(m));
    call.on("error", () => {});
    call.on("status", (status: grpc.StatusObject) => resolve({ messages, status }));
  });
}

for (const [name, start] of [
  ["node:http2", ownTransport],
  ["grpc-js", grpcJsTransport],
] as const) {
  test(`${name}: a unary call gets its one response and OK; a failed one its status`, async () => {
    const c = client(await start());
    assert.equal(await unary(c, "unary", "hello"), "unary:hello");
    await assert.rejects(unary(c, "unary", "fail"), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(err.details, "refused unary");
      return true;
    });
  });

  test(`${name}: a client-streaming call is answered once, after the client's last message`, async () => {
    const c = client(await start());
    assert.equal(await clientStreaming(c, ["a", "b", "c"]), "count:3:a,b,c");
    assert.equal(await clientStreaming(c, []), "count:0:");
  });

  test(`${name}: a server-streaming call gets every response, then OK`, async () => {
    const c = client(await start());
    const { messages, status } = await collect(c.makeServerStreamRequest("/xdsd.test.Kinds/server_streaming", toBytes, fromBytes, "x"));
    assert.deepEqual(messages, ["x#1", "x#2", "x#3"]);
    assert.equal(status.code, grpc.status.OK);
  });

  test(`${name}: a bidirectional call answers each message and ends with OK at the client's half-close`, async () => {
    const c = client(await start());
    const call = c.makeBidiStreamRequest("/xdsd.test.Kinds/bidi_streaming", toBytes, fromBytes);
    const done = collect(call);
    call.write("1");
    call.write("2");
    call.end();
    const { messages, status } = await done;
    assert.deepEqual(messages, ["echo:1", "echo:2"]);
    assert.equal(status.code, grpc.status.OK);
  });
}

test("node:http2: a unary method refuses a second request message, and a call with none", async () => {
  // grpc-js's client cannot send two messages on a unary method: a bidirectional client call on the unary path can.
  const c = client(await ownTransport());
  const two = c.makeBidiStreamRequest("/xdsd.test.Kinds/unary", toBytes, fromBytes);
  const twoDone = collect(two);
  two.write("later");
  two.write("second");
  two.end();
  const none = c.makeBidiStreamRequest("/xdsd.test.Kinds/server_streaming", toBytes, fromBytes);
  const noneDone = collect(none);
  none.end();
  const [twoResult, noneResult] = await Promise.all([twoDone, noneDone]);
  assert.equal(twoResult.status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(twoResult.status.details, /takes one request message; the client sent more/);
  assert.deepEqual(twoResult.messages, []);
  assert.equal(noneResult.status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(noneResult.status.details, /takes one request message; the client sent none/);
  assert.deepEqual(noneResult.messages, []);
});

test("the state machine is told why its call ended: completed, or the client's half-close", async () => {
  const c = client(await ownTransport());
  await unary(c, "unary", "why");
  const bidi = c.makeBidiStreamRequest("/xdsd.test.Kinds/bidi_streaming", toBytes, fromBytes);
  const done = collect(bidi);
  bidi.end();
  await done;
  assert.ok(closedWith.get("/xdsd.test.Kinds/unary")?.includes("completed"), String(closedWith.get("/xdsd.test.Kinds/unary")));
  assert.ok(closedWith.get("/xdsd.test.Kinds/bidi_streaming")?.includes("completed"), String(closedWith.get("/xdsd.test.Kinds/bidi_streaming")));
});

test("grpc-message percent-encodes only what the gRPC protocol says (bytes outside 0x20–0x7E, and %)", () => {
  assert.equal(encodeGrpcMessage("limit: 5; see /docs, ok?"), "limit: 5; see /docs, ok?");
  assert.equal(encodeGrpcMessage("100% é\n"), "100%25 %C3%A9%0A");
  assert.equal(decodeURIComponent(encodeGrpcMessage("naïve; 50%")), "naïve; 50%");
});
