// A minimal HTTP client for tests talking to Envoy listeners and its admin interface.
//
// node:http rather than fetch: fetch (undici) silently drops a Host header override (checked on Node 20), which is
// exactly what routing to a virtual host needs, and it pools keep-alive connections that outlive the Envoy under test.
import { request, type IncomingHttpHeaders } from "node:http";

export interface HttpResponse {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

export interface HttpGetOptions {
  /** Sent as the Host header (Envoy picks the virtual host from it); defaults to the URL's host. */
  host?: string;
  headers?: Record<string, string>;
  /** Whole-request deadline; defaults to 5 s. */
  timeoutMs?: number;
}

/** An error from the connection rather than from HTTP, with a Node-style `code` ("ECONNREFUSED", "ETIMEDOUT"...). */
export interface HttpConnectionError extends Error {
  code?: string;
}

/** GETs a URL and resolves with whatever status came back; rejects only when no HTTP response was received. */
export function httpGet(url: string | URL, options: HttpGetOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const headers: Record<string, string> = { ...options.headers };
  if (options.host !== undefined) headers.host = options.host;
  return new Promise((resolve, reject) => {
    // agent: false gives every request its own connection, closed afterwards: no state leaks between requests
    // (a route change is seen by the next request) and nothing stays open once a test is done.
    const req = request(url, { method: "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => {
      const err: HttpConnectionError = new Error(`GET ${url} timed out after ${timeoutMs} ms`);
      err.code = "ETIMEDOUT";
      req.destroy(err);
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Sends `n` GETs one after the other with the given Host header and tallies who answered: a 2xx response counts
 * under its body (our upstreams answer with their name), any other status under "http:<status>", and a failed
 * connection under "error:<code>". Sequential on purpose, so a load balancer's rotation is observable.
 */
export async function countUpstreams(url: string | URL, host: string, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let key: string;
    try {
      const res = await httpGet(url, { host });
      key = res.status >= 200 && res.status < 300 ? res.body : `http:${res.status}`;
    } catch (err) {
      key = `error:${(err as HttpConnectionError).code ?? "unknown"}`;
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
