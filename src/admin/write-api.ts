// The write API on the admin port (v1): clusters, their endpoints, listeners, raw resources and node groups as
// store objects (store/store.ts), each write validated with the file as one config before it is stored
// (ConfigReloader.write) and answered once the new snapshot is published. Bodies are the config file's entries as
// JSON (docs/config.md); openapi.json (served at /openapi.json) is the reference.
//   GET    /v1/{clusters|listeners|node-groups}          the store's objects of that kind, with revisions (and the
//                                                        file's clusters that have endpoints registered)
//   GET    /v1/{…}/{name}                        one; ETag = its store revision (the file's: where it is defined)
//   PUT    /v1/{…}/{name}                        create or replace (If-Match: "rev" / If-None-Match: *)
//   DELETE /v1/{…}/{name}                        (a cluster with its registered endpoints, in one transaction)
//   …      /v1/resources/{message type}/{name}   a raw Envoy resource (e.g. envoy.config.cluster.v3.Cluster/raw1)
//   POST   /v1/batch                             {operations: [...]}: all of them in one transaction, or none;
//                                                 ?dry_run=true checks them the same way and stores nothing
//   PUT    /v1/clusters/{name}/endpoints/{host:port}   register one endpoint (weight, locality, priority,
//                                                      health_status such as DRAINING, metadata)
//   DELETE /v1/clusters/{name}/endpoints/{host:port}   deregister it
// An endpoint registered with `ttl` ("30s") expires unless a PUT renews it within that time (config/endpoint-expiry.ts).
// Every write answers once the new snapshot is published; with `?wait=acked` (and `timeout=`, default 10s), once
// every connected proxy the change concerns has ACKed it (server/observers/rollouts.ts) — or, with 202, when the
// timeout came first or a proxy rejected it, naming those proxies.
// Errors are problem details (RFC 9457, application/problem+json) with a `code` from src/errors.ts and, for an
// invalid config, every issue with its field path: 400 malformed, 401/403 token, 404, 409 the file manages the
// name, 412 If-Match failed, 413 body over the limit, 415 not JSON, 422 the config it would make is invalid.
// Writes need `Authorization: Bearer <token>` from --admin-token-file; without a token file the API is read-only.
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { ConfigError, ManagedByFileError, StoreConflictError, formatLocation, type ConfigIssue } from "../errors.js";
import type { ConfigReloader } from "../daemon/reloader.js";
import { storeFile } from "../merge/store-overlay.js";
import { parseHostPort } from "../config/address.js";
import type { ObjectKind, ObjectValue, StoreOperation } from "../store/store.js";
import { findResourceType } from "../resource/types.js";
import type { Rollouts } from "../server/observers/rollouts.js";
import { registrationError, withRegistration } from "../merge/registration.js";

export interface WriteApiOptions {
  reloader: ConfigReloader;
  /** The bearer token writes must present; undefined: writes are refused (403). */
  token?: string;
  /** Largest request body accepted (default 1 MiB). */
  maxBodyBytes?: number;
  /** How publishes reach the proxies: `?wait=acked` waits on them. Without, `?wait=acked` is refused. */
  rollouts?: Rollouts;
  /** Wall clock in ms (registration expiry times); tests pass a fake. */
  now?: () => number;
}

/** `?wait=acked` waits this long unless `timeout=` says otherwise, and never longer than the maximum. */
const defaultWaitMs = 10_000;
const maxWaitMs = 300_000;

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
    this.#answer(req, path, new URL(req.url ?? "/", "http://admin").searchParams).then(
      (a) => reply(res, a),
      (err: unknown) => reply(res, problem(500, "internal error", (err as Error).message)),
    );
  }

  async #answer(req: IncomingMessage, path: string, query: URLSearchParams): Promise<Answer> {
    const parts = path.split("/").slice(2).map(decodeURIComponent);
    const method = req.method ?? "";
    if (parts[0] === "batch" && parts.length === 1) {
      if (method !== "POST") return notAllowed(method, "POST");
      const dryRun = query.get("dry_run");
      if (dryRun !== null && dryRun !== "true" && dryRun !== "false") return problem(400, "malformed request", 'dry_run= takes "true" or "false"');
      return this.#write(req, query, () => this.#batch(req, dryRun === "true"));
    }
    const collection = collections[parts[0]];
    if (!collection)
      return problem(
        404,
        "not found",
        `no such resource ${path}; the API has ${Object.keys(collections)
          .map((c) => `/v1/${c}`)
          .join(", ")} and /v1/batch`,
      );
    const nameParts = collection.kind === "resource" ? 2 : 1;
    if (parts.length === 1) {
      if (method !== "GET") return notAllowed(method, "GET");
      return this.#list(collection);
    }
    // A raw resource is named by its type and name: `/v1/resources/envoy.config.cluster.v3.Cluster/raw1` is the
    // store object `type.googleapis.com/envoy.config.cluster.v3.Cluster/raw1`.
    const name = (collection.kind === "resource" ? "type.googleapis.com/" : "") + parts.slice(1, 1 + nameParts).join("/");
    if (parts.length === 1 + nameParts && parts.every((p) => p !== "")) {
      if (method === "GET") return this.#get(collection, name);
      if (method === "PUT") return this.#write(req, query, () => this.#put(req, collection, name));
      if (method === "DELETE") return this.#write(req, query, () => this.#delete(req, collection, name));
      return notAllowed(method, "GET, PUT, DELETE");
    }
    if (collection.kind === "cluster" && parts.length === 4 && parts[2] === "endpoints") {
      const endpoint = parts[3];
      if (method === "PUT") return this.#write(req, query, () => this.#putEndpoint(req, name, endpoint));
      if (method === "DELETE") return this.#write(req, query, () => this.#deleteEndpoint(req, name, endpoint));
      if (method === "GET") return this.#getEndpoint(name, endpoint);
      return notAllowed(method, "GET, PUT, DELETE");
    }
    return problem(404, "not found", `no such resource ${path}`);
  }

  #list(c: Collection): Answer {
    const { objects, revision } = this.o.reloader.storeObjects();
    const items = objects.filter((o) => o.kind === c.kind).map((o) => this.#view(c, o.name, o.revision, o.value));
    if (c.kind === "cluster") {
      // Endpoints registered into a cluster of the file are store objects too (issue 18, item 13): such a cluster is
      // listed as GET /v1/clusters/{name} shows it, so that a registration is seen wherever a cluster's are looked for.
      const registeredInto = new Set(objects.filter((o) => o.kind === "endpoint").map((o) => o.name.slice(0, o.name.lastIndexOf("/"))));
      for (const name of [...registeredInto].sort()) {
        const at = this.o.reloader.fileDefines("cluster", name);
        if (at) items.push({ name, managedBy: "file", location: at, endpoints: this.#endpointsOf(name) });
      }
    }
    return { status: 200, body: { revision, [c.plural]: items } };
  }

  #view(c: Collection, name: string, revision: number, value: ObjectValue): Record<string, unknown> {
    return { name, managedBy: "api", revision, [c.singular]: value, ...(c.kind === "cluster" ? { endpoints: this.#endpointsOf(name) } : {}) };
  }

  #get(c: Collection, name: string): Answer {
    const r = this.o.reloader;
    const o = r.storeObject(c.kind, name);
    if (o) return { status: 200, headers: { etag: etag(o.revision) }, body: this.#view(c, name, o.revision, o.value) };
    const at = r.fileDefines(c.kind, name);
    if (at) return { status: 200, body: { name, managedBy: "file", location: at, ...(c.kind === "cluster" ? { endpoints: this.#endpointsOf(name) } : {}) } };
    return problem(404, "not found", `no ${c.singular.replace("_", " ")} "${name}"`);
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

  async #put(req: IncomingMessage, c: Collection, name: string): Promise<Answer> {
    const body = await this.#body(req);
    if ("status" in body) return body;
    const value = c.valueOf(name, body.value);
    if (typeof value === "string") return problem(400, "malformed request", value);
    const existed = this.o.reloader.storeObject(c.kind, name) !== undefined;
    const { revision } = await this.o.reloader.write([{ op: "put", kind: c.kind, name, value, ...condition(req) }]);
    return { status: existed ? 200 : 201, headers: { etag: etag(revision) }, body: { name, revision } };
  }

  async #delete(req: IncomingMessage, c: Collection, name: string): Promise<Answer> {
    const r = this.o.reloader;
    if (!r.storeObject(c.kind, name) && !r.fileDefines(c.kind, name)) return problem(404, "not found", `no ${c.singular.replace("_", " ")} "${name}"`);
    // A cluster goes with the endpoints registered for it, in the same transaction.
    const endpoints =
      c.kind === "cluster" ? this.#endpointsOf(name).map((e): StoreOperation => ({ op: "delete", kind: "endpoint", name: `${name}/${e.endpoint}` })) : [];
    const { revision } = await r.write([{ op: "delete", kind: c.kind, name, ...condition(req) }, ...endpoints]);
    return { status: 200, body: { name, deleted: true, revision } };
  }

  /** `POST /v1/batch`: `{operations: [{op: "put"|"delete", kind, name, value?, if_revision?}]}`, all or nothing. */
  async #batch(req: IncomingMessage, dryRun: boolean): Promise<Answer> {
    const body = await this.#body(req);
    if ("status" in body) return body;
    const list = body.value.operations;
    if (!Array.isArray(list) || list.length === 0)
      return problem(400, "malformed request", 'the body must be {"operations": [...]} with at least one operation');
    const operations: StoreOperation[] = [];
    for (const [i, o] of list.entries()) {
      const at = `operations[${i}]`;
      if (typeof o !== "object" || o === null) return problem(400, "malformed request", `${at} must be an object`);
      const { op, kind, name, value, if_revision } = o as Record<string, unknown>;
      const c = Object.values(collections).find((x) => x.kind === kind);
      if (!c && kind !== "endpoint") return problem(400, "malformed request", `${at}.kind must be one of cluster, endpoint, listener, resource, node-group`);
      if (typeof name !== "string" || name === "") return problem(400, "malformed request", `${at}.name must be a non-empty string`);
      if (if_revision !== undefined && !(Number.isInteger(if_revision) && (if_revision as number) >= 0)) {
        return problem(400, "malformed request", `${at}.if_revision must be a whole number ≥ 0`);
      }
      const condition = if_revision === undefined ? {} : { ifRevision: if_revision as number };
      if (op === "delete") {
        operations.push({ op, kind: kind as ObjectKind, name, ...condition });
        continue;
      }
      if (op !== "put") return problem(400, "malformed request", `${at}.op must be "put" or "delete"`);
      if (typeof value !== "object" || value === null || Array.isArray(value)) return problem(400, "malformed request", `${at}.value must be an object`);
      const stored = c ? c.valueOf(name, value as Record<string, unknown>) : this.#endpointValue(name, value as Record<string, unknown>);
      if (typeof stored === "string") return problem(400, "malformed request", `${at}: ${stored}`);
      operations.push({ op, kind: kind as ObjectKind, name, value: stored, ...condition });
    }
    const { revision } = await this.o.reloader.write(operations, { dryRun });
    return { status: 200, body: { revision, operations: operations.length, ...(dryRun ? { dry_run: true } : {}) } };
  }

  async #putEndpoint(req: IncomingMessage, cluster: string, endpoint: string): Promise<Answer> {
    const hostPort = parseHostPort(endpoint);
    if ("error" in hostPort) return problem(400, "malformed request", `the path's endpoint: ${hostPort.error}`);
    const r = this.o.reloader;
    if (!r.storeObject("cluster", cluster) && !r.fileDefines("cluster", cluster))
      return problem(404, "not found", `no cluster "${cluster}" to register ${endpoint} in`);
    const body = await this.#body(req, true);
    if ("status" in body) return body;
    const name = `${cluster}/${endpoint}`;
    const value = this.#endpointValue(name, body.value);
    if (typeof value === "string") return problem(400, "malformed request", value);
    const existed = r.storeObject("endpoint", name) !== undefined;
    const { revision } = await r.write([{ op: "put", kind: "endpoint", name, value, ...condition(req) }]);
    return { status: existed ? 200 : 201, headers: { etag: etag(revision) }, body: { cluster, endpoint, revision } };
  }

  async #deleteEndpoint(req: IncomingMessage, cluster: string, endpoint: string): Promise<Answer> {
    const name = `${cluster}/${endpoint}`;
    if (!this.o.reloader.storeObject("endpoint", name)) return problem(404, "not found", `no endpoint ${endpoint} registered for cluster "${cluster}"`);
    const { revision } = await this.o.reloader.write([{ op: "delete", kind: "endpoint", name, ...condition(req) }]);
    return { status: 200, body: { cluster, endpoint, deleted: true, revision } };
  }

  /** An endpoint's stored value, its registration TTL turned into an expiry time. */
  #endpointValue(name: string, body: Record<string, unknown>): ObjectValue | string {
    const value = endpointValue(name, body);
    if (typeof value === "string") return value;
    const refused = registrationError(value);
    if (refused) return refused;
    return withRegistration(value, (this.o.now ?? Date.now)());
  }

  /**
   * Authorization, then the write, then with `?wait=acked` the wait for the proxies; store and config errors
   * become their problem details.
   */
  async #write(req: IncomingMessage, query: URLSearchParams, run: () => Promise<Answer>): Promise<Answer> {
    const denied = this.#authorize(req);
    if (denied) {
      req.resume();
      return denied;
    }
    const wait = this.#waitOf(query);
    if (typeof wait === "string") {
      req.resume();
      return problem(400, "malformed request", wait);
    }
    const mark = this.o.rollouts?.mark() ?? 0;
    try {
      const answer = await run();
      if (wait === undefined || answer.status >= 300 || !this.o.rollouts) return answer;
      const outcome = await this.o.rollouts.waitForPublish(mark, wait);
      // The write is committed either way; 202 says the proxies have not all taken it (yet).
      return { ...answer, status: outcome.complete ? answer.status : 202, body: { ...(answer.body as object), rollout: outcome } };
    } catch (err) {
      if (err instanceof MalformedConditionError) return problem(400, "malformed request", err.message);
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

  /** `?wait=acked&timeout=5s` → how long to wait (ms); undefined: no wait; a string: why the query is malformed. */
  #waitOf(query: URLSearchParams): number | undefined | string {
    const wait = query.get("wait");
    const timeout = query.get("timeout");
    if (wait === null) return timeout === null ? undefined : "timeout= goes with wait=acked";
    if (wait !== "acked") return `wait= takes only "acked", not "${wait}"`;
    if (!this.o.rollouts) return "this server does not track what proxies ACK; wait=acked is not available";
    if (timeout === null) return defaultWaitMs;
    const m = /^(\d+(?:\.\d+)?)s$/.exec(timeout);
    const ms = m ? Math.round(Number(m[1]) * 1000) : Number.NaN;
    if (!(ms > 0 && ms <= maxWaitMs)) return `timeout= must be a duration in seconds from 0.001s to ${maxWaitMs / 1000}s, like "5s"`;
    return ms;
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

/** A kind of object as the API names it: its path, its JSON names, and how a body becomes its stored value. */
interface Collection {
  readonly kind: ObjectKind;
  readonly plural: string;
  readonly singular: string;
  /** The value to store for a body, or why the body is malformed. */
  valueOf(name: string, body: Record<string, unknown>): ObjectValue | string;
}

/** A body naming something else than its path is refused; the stored value is named by the path. */
function named(field: string) {
  return (name: string, body: Record<string, unknown>): ObjectValue | string => {
    if (body[field] !== undefined && body[field] !== name) return `the body names "${String(body[field])}" but the path names "${name}"`;
    const { [field]: _drop, ...rest } = body;
    return rest;
  };
}

const collections: Record<string, Collection> = {
  clusters: {
    kind: "cluster",
    plural: "clusters",
    singular: "cluster",
    valueOf: (name, body) => {
      const v = named("name")(name, body);
      return typeof v === "string" ? v.replace("the body names", "the body names cluster") : { endpoints: [], ...v };
    },
  },
  listeners: { kind: "listener", plural: "listeners", singular: "listener", valueOf: named("name") },
  "node-groups": { kind: "node-group", plural: "node_groups", singular: "node_group", valueOf: (_name, body) => body },
  resources: {
    kind: "resource",
    plural: "resources",
    singular: "resource",
    // `/v1/resources/<message type>/<name>`: the resource as Envoy writes it, its "@type" and name from the path.
    valueOf: (name, body) => {
      const cut = name.lastIndexOf("/");
      const typeUrl = name.slice(0, cut);
      const type = findResourceType(typeUrl);
      if (!type || !typeUrl.startsWith("type.googleapis.com/"))
        return `"${typeUrl}" is not the type URL of an xDS resource type (e.g. type.googleapis.com/envoy.config.cluster.v3.Cluster)`;
      if (body["@type"] !== undefined && body["@type"] !== typeUrl) return `the body's "@type" is "${String(body["@type"])}" but the path's is "${typeUrl}"`;
      const own = body[type.nameField];
      if (own !== undefined && own !== name.slice(cut + 1))
        return `the body's ${type.nameField} is "${String(own)}" but the path names "${name.slice(cut + 1)}"`;
      return { ...body, "@type": typeUrl, [type.nameField]: name.slice(cut + 1) };
    },
  },
};

/** An endpoint's stored value: the body's fields, the address and port from its name `<cluster>/<host:port>`. */
function endpointValue(name: string, body: Record<string, unknown>): ObjectValue | string {
  const endpoint = name.slice(name.indexOf("/") + 1);
  const hostPort = name.includes("/") ? parseHostPort(endpoint) : { error: `"${name}" is not <cluster>/<host:port>` };
  if ("error" in hostPort) return `the endpoint: ${hostPort.error}`;
  for (const key of ["address", "port"]) if (key in body) return `"${key}" comes from the endpoint's name (${endpoint}), not the body`;
  return { ...body, address: hostPort.address, port: hostPort.port };
}

/** An issue of a refused write: where (the store object's field path, or the file's line) and what. */
function issueView(issue: ConfigIssue): { path?: string; location: string; message: string } {
  const { location } = issue;
  return location.file === storeFile
    ? { path: location.path, location: formatLocation(location), message: issue.message }
    : { location: formatLocation(location), message: issue.message };
}

/**
 * The write's condition from If-Match (an ETag this API gave, `"<revision>"`) or If-None-Match (`*`: create only).
 * Throws MalformedConditionError for anything else: a condition the client meant but we cannot read must not be
 * taken for none.
 */
function condition(req: IncomingMessage): { ifRevision?: number } {
  const match = req.headers["if-match"];
  const noneMatch = req.headers["if-none-match"];
  if (match !== undefined) {
    const m = /^(?:W\/)?"(\d{1,15})"$/.exec(String(match).trim());
    if (!m || noneMatch !== undefined)
      throw new MalformedConditionError(`If-Match must be one ETag this API gave, like "7"${noneMatch !== undefined ? ", without If-None-Match" : ""}`);
    return { ifRevision: Number(m[1]) };
  }
  if (noneMatch !== undefined) {
    if (String(noneMatch).trim() !== "*") throw new MalformedConditionError('If-None-Match takes only "*" (create only)');
    return { ifRevision: 0 };
  }
  return {};
}

class MalformedConditionError extends Error {}

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
