// Every HTTP error the daemon answers is one shape (issue 17): RFC 9457 problem details as
// application/problem+json, with the `code` of docs/errors.md whose status and title src/problem-details.ts
// gives — on the admin port (its own endpoints, CSDS as JSON, the write API, requests node:http cannot parse) and
// on the xDS port's REST-JSON polling, over HTTP/1.1 and h2c.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { problemStatuses, problemType, type ProblemCode } from "../../src/problem-details.js";
import { poll } from "../support/rest-client.js";
import { node } from "../support/resources.js";
import { startXdsd, type XdsdHandle } from "../support/xdsd.js";

let xdsd: XdsdHandle;
before(async () => {
  xdsd = await startXdsd('clusters: [{name: a, endpoints: ["127.0.0.1:8080"]}]\n');
});
after(async () => {
  await xdsd?.stop();
});

interface Answer {
  status: number;
  contentType: string | undefined;
  text: string;
}

async function admin(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${xdsd.adminUrl}${path}`, { method, body, headers });
  return { status: r.status, contentType: r.headers.get("content-type") ?? undefined, text: await r.text() };
}

/** Bytes written to the admin port as they are (what fetch would not send), and the answer's status line, type and body. */
function raw(request: string): Promise<Answer> {
  const { hostname, port } = new URL(xdsd.adminUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let text = "";
    socket.on("data", (d) => (text += d));
    socket.on("error", reject);
    socket.on("close", () => {
      const [head, body = ""] = text.split("\r\n\r\n");
      resolve({
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]),
        contentType: /^content-type: (.*)$/im.exec(head)?.[1],
        text: body,
      });
    });
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer in 5 s")));
  });
}

function assertProblem(what: string, r: Answer, status: number, code: ProblemCode, detail: RegExp): void {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.equal(r.contentType, "application/problem+json", what);
  const body = JSON.parse(r.text) as Record<string, unknown>;
  assert.deepEqual(
    { type: body.type, title: body.title, status: body.status, code: body.code },
    { type: problemType, title: problemStatuses[code].title, status, code },
    what,
  );
  assert.equal(problemStatuses[code].status, status, `${what}: the table's status for ${code}`);
  assert.match(String(body.detail), detail, what);
}

test("the admin port's own errors are problem details with their code", async () => {
  assertProblem("unknown path", await admin("GET", "/nope"), 404, "XDSD_HTTP_NOT_FOUND", /no such endpoint \/nope/);
  assertProblem("not GET", await admin("DELETE", "/healthz"), 405, "XDSD_HTTP_METHOD_NOT_ALLOWED", /only GET/);
  assertProblem("bad page size", await admin("GET", "/nodes?limit=0"), 400, "XDSD_HTTP_MALFORMED", /limit must be a whole number from 1 to 1000/);
  assertProblem(
    "CSDS body",
    await admin("POST", "/v3/discovery:client_status", "{nope", { "content-type": "application/json" }),
    400,
    "XDSD_HTTP_MALFORMED",
    /not an envoy\.service\.status\.v3\.ClientStatusRequest/,
  );
  assertProblem(
    "CSDS too big",
    await admin("POST", "/v3/discovery:client_status", `{"x":"${"a".repeat(70_000)}"}`),
    413,
    "XDSD_HTTP_BODY_TOO_LARGE",
    /at most 65536 bytes/,
  );
  assertProblem(
    "unparsable request",
    await raw("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
    400,
    "XDSD_HTTP_MALFORMED",
    /malformed HTTP request/,
  );
  assertProblem("CONNECT", await raw("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 405, "XDSD_HTTP_METHOD_NOT_ALLOWED", /only GET/);
});

test("the write API's errors carry their code too", async () => {
  assertProblem("unknown collection", await admin("GET", "/v1/widgets"), 404, "XDSD_HTTP_NOT_FOUND", /no such resource \/v1\/widgets/);
  assertProblem("no such object", await admin("GET", "/v1/clusters/nope"), 404, "XDSD_HTTP_NOT_FOUND", /no cluster "nope"/);
  assertProblem("method", await admin("POST", "/v1/clusters"), 405, "XDSD_HTTP_METHOD_NOT_ALLOWED", /POST is not allowed here/);
  assertProblem("writes disabled", await admin("PUT", "/v1/clusters/b", "{}"), 403, "XDSD_HTTP_WRITES_DISABLED", /--admin-token-file/);
  assertProblem("bad encoding", await admin("GET", "/v1/clusters/%FF"), 400, "XDSD_HTTP_MALFORMED", /percent-encoding/);
});

test("REST-JSON polling answers its errors as problem details, over HTTP/1.1 and h2c", async () => {
  const address = `127.0.0.1:${xdsd.xdsPort}`;
  for (const http2 of [false, true]) {
    const via = http2 ? "h2c" : "HTTP/1.1";
    const asProblem = (r: { status: number; contentType: string | undefined; text: string }): Answer => r;
    assertProblem(
      `${via} unknown path`,
      asProblem(await poll(address, "/v3/discovery:widgets", { node: node("p") }, { http2 })),
      404,
      "XDSD_HTTP_NOT_FOUND",
      /no discovery service/,
    );
    assertProblem(
      `${via} PUT`,
      asProblem(await poll(address, "/v3/discovery:clusters", undefined, { method: "PUT", http2 })),
      405,
      "XDSD_HTTP_METHOD_NOT_ALLOWED",
      /takes POST/,
    );
    assertProblem(
      `${via} not JSON`,
      asProblem(await poll(address, "/v3/discovery:clusters", undefined, { rawBody: "{nope", http2 })),
      400,
      "XDSD_HTTP_MALFORMED",
      /not a DiscoveryRequest/,
    );
    assertProblem(
      `${via} content type`,
      asProblem(await poll(address, "/v3/discovery:clusters", { node: node("p") }, { contentType: "text/plain", http2 })),
      415,
      "XDSD_HTTP_UNSUPPORTED_MEDIA_TYPE",
      /application\/json/,
    );
    assertProblem(
      `${via} node over a limit`,
      asProblem(await poll(address, "/v3/discovery:clusters", { node: { id: "x".repeat(5000), cluster: "c" } }, { http2 })),
      400,
      "XDSD_NODE_LIMIT",
      /node\.id is 5000 bytes/,
    );
  }
});
