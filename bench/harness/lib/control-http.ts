// The control channel every bench process speaks: small JSON over HTTP/1.1 on 127.0.0.1. One server helper (a
// route table) and one client helper (a JSON request with a deadline), so that servers, the load generator and
// the driver agree on the details: status codes, JSON bodies, query parameters.
import http from "node:http";

export type Query = URLSearchParams;
export type Handler = (query: Query, body: unknown) => unknown | Promise<unknown>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Serves `routes` ("GET /stats" → handler) on 127.0.0.1:port. Resolves once listening. */
export function serveControl(port: number, routes: Record<string, Handler>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const handler = routes[`${req.method} ${url.pathname}`];
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, value: unknown) => {
        const text = JSON.stringify(value);
        res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      };
      if (!handler) return reply(404, { error: `no route ${req.method} ${url.pathname}` });
      let body: unknown;
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return reply(400, { error: "body is not JSON" });
      }
      Promise.resolve()
        .then(() => handler(url.searchParams, body))
        .then(
          (value) => reply(200, value ?? {}),
          (err: unknown) => reply(err instanceof HttpError ? err.status : 500, { error: (err as Error).message }),
        );
    });
  });
  // The driver keeps many long-polls open at once (one per pending update): no per-request socket timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

// No small socket limit: in open-loop pacing hundreds of `/wait` long-polls are pending at once, and a request
// queued behind them in the agent (a `POST /track` before a step) would delay the step it precedes.
const agent = new http.Agent({ keepAlive: true, maxSockets: 4096 });

/** A JSON request to a control port; rejects on a non-200 answer or after `timeoutMs`. */
// biome-ignore lint/suspicious/noExplicitAny: callers name the answer's shape; untyped callers read documented fields
export function controlRequest<T = any>(port: number, method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) return reject(new Error(`${method} ${path} on :${port}: ${res.statusCode} ${text}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new Error(`${method} ${path} on :${port}: answer is not JSON: ${text.slice(0, 200)}`));
          }
        });
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} on :${port}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(payload);
  });
}

/** Stops keeping idle control connections (lets the driver exit promptly). */
export function closeControlClients(): void {
  agent.destroy();
}
