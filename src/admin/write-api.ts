// The write API on the admin port (v1): clusters and their endpoints as store objects (store/store.ts), each write
// validated with the file as one config before it is stored (ConfigReloader.write) and answered once the new
// snapshot is published.
//   GET    /v1/clusters                          every cluster served: the store's (with revisions) and the file's
//   GET    /v1/clusters/{name}                   one; ETag = its store revision
//   PUT    /v1/clusters/{name}                   create or replace (If-Match: "rev" / If-None-Match: *)
//   DELETE /v1/clusters/{name}                   with its registered endpoints, in one transaction
//   PUT    /v1/clusters/{name}/endpoints/{host:port}   register one endpoint (weight, locality, priority,
//                                                      health_status such as DRAINING, metadata)
//   DELETE /v1/clusters/{name}/endpoints/{host:port}   deregister it
// Errors are problem details (RFC 9457, application/problem+json) with a `code` from src/errors.ts and, for an
// invalid config, every issue with its field path: 400 malformed, 401/403 token, 404, 409 the file manages the
// name, 412 If-Match failed, 413 body over the limit, 415 not JSON, 422 the config it would make is invalid.
// Writes need `Authorization: Bearer <token>` from --admin-token-file; without a token file the API is read-only.
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { ConfigError, ManagedByFileError, StoreConflictError, formatLocation, type ConfigIssue } from "../errors.js";
import type { ConfigReloader } from "../config/reloader.js";
import { storeFile } from "../config/store-overlay.js";
import { parseHostPort } from "../config/address.js";
import type { ObjectValue, StoreOperation } from "../store/store.js";

export interface WriteApiOptions {
  reloader: ConfigReloader;
  /** The bearer token writes must present; undefined: writes are refused (403). */
  token?: string;
  /** Largest request body accepted (default 1 MiB). */
  maxBodyBytes?: number;
}

/** An answer: status, headers, and a JSON body (a problem detail for errors). */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const problemType = "https://github.com/xdsd/xdsd/blob/main/docs/errors.md";

export class WriteApi {
  constructor(private readonly o: WriteApiOptions) {}

  /** Whether `path` belongs to this API (then `handle` answers it). */
  serves(path: string): boolean {
    return path === "/v1" || path.startsWith("/v1/");
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.#answer(req, path).then(
      (a) => reply(res, a),
      (err: unknown) => reply(res, problem(500, "internal error", (err as Error).message)),
    );
  }

  async #answer(req: IncomingMessage, path: string): Promise<Answer> {
    const parts = path.split("/").slice(2).map(decodeURIComponent);
    const method = req.method ?? "";
    if (parts[0] !== "clusters") return problem(404, "not found", `no such resource ${path}; the API has /v1/clusters`);
    if (parts.length === 1) {
      if (method !== "GET") return notAllowed(method, "GET");
      return this.#listClusters();
    }
    const name = parts[1];
    if (parts.length === 2) {
      if (method === "GET") return this.#getCluster(name);
      if (method === "PUT") return this.#write(req, () => this.#putCluster(req, name));
      if (method === "DELETE") return this.#write(req, () => this.#deleteCluster(req, name));
      return notAllowed(method, "GET, PUT, DELETE");
    }
    if (parts.length === 4 && parts[2] === "endpoints") {
      const endpoint = parts[3];
      if (method === "PUT") return this.#write(req, () => this.#putEndpoint(req, name, endpoint));
      if (method === "DELETE") return this.#write(req, () => this.#deleteEndpoint(req, name, endpoint));
      if (method === "GET") return this.#getEndpoint(name, endpoint);
      return notAllowed(method, "GET, PUT, DELETE");
    }
    return problem(404, "not found", `no such resource ${path}`);
  }

  #listClusters(): Answer {
    const { objects, revision } = this.o.reloader.storeObjects();
    const clusters = objects
      .filter((o) => o.kind === "cluster")
      .map((o) => ({ name: o.name, managedBy: "api", revision: o.revision, cluster: o.value, endpoints: this.#endpointsOf(o.name) }));
    return { status: 200, body: { revision, clusters } };
  }

  #getCluster(name: string): Answer {
    const r = this.o.reloader;
    const o = r.storeObject("cluster", name);
    if (o)
      return {
        status: 200,
        headers: { etag: etag(o.revision) },
        body: { name, managedBy: "api", revision: o.revision, cluster: o.value, endpoints: this.#endpointsOf(name) },
      };
    const at = r.fileDefines("cluster", name);
    if (at) return { status: 200, body: { name, managedBy: "file", location: at, endpoints: this.#endpointsOf(name) } };
    return problem(404, "not found", `no cluster "${name}"`);
  }

  #getEndpoint(cluster: string, endpoint: string): Answer {
    const o = this.o.reloader.storeObject("endpoint", `${cluster}/${endpoint}`);
    if (!o) return problem(404, "not found", `no endpoint ${endpoint} registered for cluster "${cluster}"`);
    return { status: 200, headers: { etag: etag(o.revision) }, body: { cluster, endpoint, revision: o.revision, ...o.value } };
  }

  /** The endpoints registered through the API for a cluster. */
  #endpointsOf(cluster: string): { endpoint: string; revision: number; value: ObjectValue }[] {
    const prefix = `${cluster}/`;
    return this.o.reloader
      .storeObjects()
      .objects.filter((o) => o.kind === "endpoint" && o.name.startsWith(prefix))
      .map((o) => ({ endpoint: o.name.slice(prefix.length), revision: o.revision, value: o.value }));
  }

  async #putCluster(req: IncomingMessage, name: string): Promise<Answer> {
    const body = await this.#body(req);
    if ("status" in body) return body;
    const value = body.value;
    if (value.name !== undefined && value.name !== name) {
      return problem(400, "malformed request", `the body names cluster "${String(value.name)}" but the path names "${name}"`);
    }
    const { name: _drop, ...cluster } = value;
    const existed = this.o.reloader.storeObject("cluster", name) !== undefined;
    const { revision } = await this.o.reloader.write([{ op: "put", kind: "cluster", name, value: { endpoints: [], ...cluster }, ...condition(req) }]);
    return { status: existed ? 200 : 201, headers: { etag: etag(revision) }, body: { name, revision } };
  }

  async #deleteCluster(req: IncomingMessage, name: string): Promise<Answer> {
    const r = this.o.reloader;
    if (!r.storeObject("cluster", name) && !r.fileDefines("cluster", name)) return problem(404, "not found", `no cluster "${name}"`);
    const endpoints = this.#endpointsOf(name).map((e): StoreOperation => ({ op: "delete", kind: "endpoint", name: `${name}/${e.endpoint}` }));
    const { revision } = await r.write([{ op: "delete", kind: "cluster", name, ...condition(req) }, ...endpoints]);
    return { status: 200, body: { name, deleted: true, revision } };
  }

  async #putEndpoint(req: IncomingMessage, cluster: string, endpoint: string): Promise<Answer> {
    const hostPort = parseHostPort(endpoint);
    if ("error" in hostPort) return problem(400, "malformed request", `the path's endpoint: ${hostPort.error}`);
    const r = this.o.reloader;
    if (!r.storeObject("cluster", cluster) && !r.fileDefines("cluster", cluster))
      return problem(404, "not found", `no cluster "${cluster}" to register ${endpoint} in`);
    const body = await this.#body(req, true);
    if ("status" in body) return body;
    for (const key of ["address", "port"]) {
      if (key in body.value) return problem(400, "malformed request", `"${key}" comes from the path (${endpoint}), not the body`);
    }
    const name = `${cluster}/${endpoint}`;
    const existed = r.storeObject("endpoint", name) !== undefined;
    const { revision } = await r.write([
      { op: "put", kind: "endpoint", name, value: { ...body.value, address: hostPort.address, port: hostPort.port }, ...condition(req) },
    ]);
    return { status: existed ? 200 : 201, headers: { etag: etag(revision) }, body: { cluster, endpoint, revision } };
  }

  async #deleteEndpoint(req: IncomingMessage, cluster: string, endpoint: string): Promise<Answer> {
    const name = `${cluster}/${endpoint}`;
    if (!this.o.reloader.storeObject("endpoint", name)) return problem(404, "not found", `no endpoint ${endpoint} registered for cluster "${cluster}"`);
    const { revision } = await this.o.reloader.write([{ op: "delete", kind: "endpoint", name, ...condition(req) }]);
    return { status: 200, body: { cluster, endpoint, deleted: true, revision } };
  }

  /** Authorization, then the write; store and config errors become their problem details. */
  async #write(req: IncomingMessage, run: () => Promise<Answer>): Promise<Answer> {
    const denied = this.#authorize(req);
    if (denied) {
      req.resume();
      return denied;
    }
    try {
      return await run();
    } catch (err) {
      if (err instanceof ManagedByFileError) return problem(409, "managed by the config file", err.message, err.code, { location: err.location });
      if (err instanceof StoreConflictError) {
        return problem(412, "precondition failed", err.message, err.code, { currentRevision: err.actualRevision });
      }
      if (err instanceof ConfigError) {
        return problem(422, "the config would be invalid", "the write was refused and nothing was stored", err.code, { errors: err.issues.map(issueView) });
      }
      throw err;
    }
  }

  #authorize(req: IncomingMessage): Answer | undefined {
    const token = this.o.token;
    if (token === undefined) return problem(403, "writes are disabled", "start xdsd with --admin-token-file to enable writes");
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const ok = given !== undefined && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
    if (!ok)
      return {
        ...problem(401, "unauthorized", "writes need Authorization: Bearer <the token of --admin-token-file>"),
        headers: { "www-authenticate": 'Bearer realm="xdsd"' },
      };
    return undefined;
  }

  /** The request's JSON object body; an answer instead when it is not one. */
  async #body(req: IncomingMessage, emptyIsObject = false): Promise<{ value: Record<string, unknown> } | Answer> {
    const type = req.headers["content-type"];
    const limit = this.o.maxBodyBytes ?? 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        return problem(413, "request body too large", `the body is over ${limit} bytes`);
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (text.trim() === "" && emptyIsObject) return { value: {} };
    if (type !== undefined && !/^application\/json\b/i.test(type))
      return problem(415, "unsupported media type", `the body must be application/json, not ${type}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return problem(400, "malformed request", `the body is not JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return problem(400, "malformed request", "the body must be a JSON object");
    return { value: value as Record<string, unknown> };
  }
}

/** An issue of a refused write: where (the store object's field path, or the file's line) and what. */
function issueView(issue: ConfigIssue): { path?: string; location: string; message: string } {
  const { location } = issue;
  return location.file === storeFile
    ? { path: location.path, location: formatLocation(location), message: issue.message }
    : { location: formatLocation(location), message: issue.message };
}

function condition(req: IncomingMessage): { ifRevision?: number } {
  const match = req.headers["if-match"];
  if (typeof match === "string") {
    const m = /^(?:W\/)?"(\d+)"$/.exec(match.trim());
    return { ifRevision: m ? Number(m[1]) : -1 };
  }
  if (req.headers["if-none-match"] === "*") return { ifRevision: 0 };
  return {};
}

function etag(revision: number): string {
  return `"${revision}"`;
}

function problem(status: number, title: string, detail: string, code?: string, extra: Record<string, unknown> = {}): Answer {
  return { status, body: { type: problemType, title, status, detail, ...(code ? { code } : {}), ...extra } };
}

function notAllowed(method: string, allowed: string): Answer {
  return { ...problem(405, "method not allowed", `${method} is not allowed here; allowed: ${allowed}`), headers: { allow: allowed } };
}

function reply(res: ServerResponse, a: Answer): void {
  const isProblem = a.status >= 400;
  const text = a.body === undefined ? "" : `${JSON.stringify(a.body, null, 2)}\n`;
  res.writeHead(a.status, {
    "content-type": isProblem ? "application/problem+json" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...a.headers,
  });
  res.end(text);
}
