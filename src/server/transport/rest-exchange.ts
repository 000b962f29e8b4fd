// One REST-JSON poll as HTTP, whatever the HTTP version (http1-transport.ts, and http2-transport.ts for h2c): the
// method and path are checked against the table's poll entries, the body is read up to the request size limit,
// and protocol/rest-poll.ts answers: 200, 304 (nothing new), or an error as problem details (problem-details.ts).
import type { Readable } from "node:stream";
import { problemAnswer, type PollAnswer, type RestPolls } from "../protocol/rest-poll.js";
import type { PollService } from "../service-table.js";

export interface RestRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly peer: string;
  /** What the client's verified certificate names (peer-identity.ts); absent without mutual TLS. */
  readonly identity?: string;
  readonly body: Readable;
}

export class RestExchange {
  readonly #services: ReadonlyMap<string, PollService>;

  constructor(
    private readonly polls: RestPolls,
    services: readonly PollService[],
    private readonly maxRequestBytes: number,
  ) {
    this.#services = new Map(services.map((s) => [s.path, s]));
  }

  /** Whether `path` is one of the poll paths served (the h2c transport routes on it). */
  serves(path: string): boolean {
    return this.#services.has(path.split("?")[0]);
  }

  async answer(req: RestRequest): Promise<PollAnswer> {
    const path = req.path.split("?")[0];
    const service = this.#services.get(path);
    if (!service) {
      req.body.resume();
      const known = [...this.#services.keys()].join(", ");
      return problemAnswer("XDSD_HTTP_NOT_FOUND", `no discovery service at ${path}; REST-JSON polling is served at ${known || "no path here"}`);
    }
    if (req.method !== "POST") {
      req.body.resume();
      return problemAnswer("XDSD_HTTP_METHOD_NOT_ALLOWED", `${path} takes POST with a DiscoveryRequest in proto3 JSON, not ${req.method}`);
    }
    if (req.contentType !== undefined && !/^application\/json\b/i.test(req.contentType)) {
      req.body.resume();
      return problemAnswer("XDSD_HTTP_UNSUPPORTED_MEDIA_TYPE", `${path} takes content-type application/json, not ${req.contentType}`);
    }
    const body = await readLimited(req.body, this.maxRequestBytes);
    if (!body) return problemAnswer("XDSD_HTTP_BODY_TOO_LARGE", `the request body is over the limit of ${this.maxRequestBytes} bytes (--max-request-bytes)`);
    return this.polls.answer(service, body, req.peer, undefined, req.identity);
  }
}

/** The whole body, or undefined past `limit` bytes (the rest is drained, not kept). */
function readLimited(stream: Readable, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    stream.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    stream.on("end", () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    stream.on("error", reject);
    stream.on("aborted", () => reject(new Error("request aborted")));
  });
}
