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
//   POST   /v1/batch                             {operations: [...]}: all of them in one transaction, or none
//                                                 (at most maxBatchOperations, each object once); ?dry_run=true checks
//                                                 them the same way and stores nothing
//   PUT    /v1/clusters/{name}/endpoints/{host:port}   register one endpoint (weight, locality, priority,
//                                                      health_status such as DRAINING, metadata); any spelling of
//                                                      the address names it, stored canonically (config/address.ts)
//   DELETE /v1/clusters/{name}/endpoints/{host:port}   deregister it
// An endpoint registered with `ttl` ("30s") expires unless a PUT renews it within that time (config/endpoint-expiry.ts).
// Every write answers once the new snapshot is published; with `?wait=acked` (and `timeout=`, default 10s), once
// every connected proxy the change concerns has ACKed it (server/observers/rollouts.ts) — or, with 202, when the
// timeout came first or a proxy rejected it, naming those proxies.
// Errors are problem details (src/problem-details.ts: the status of each code) and, for an invalid config, every
// issue with its field path. A store object the file took the name of is shadowed (not served, reported in
// /config): a PUT of it is 409, a DELETE removes it.
// Writes need `Authorization: Bearer <token>` with a write token of --admin-token-file (admin-auth.ts decides, and
// every write is logged as an audit line); without a token file the API is read-only.
import type { IncomingMessage, ServerResponse } from "node:http";
import { AdminAuth, AdminTokens, bareTokenName } from "./admin-auth.js";
import {
  ConfigError,
  ManagedByFileError,
  StoreConflictError,
  StoreRevisionConflictError,
  StoreUnavailableError,
  formatLocation,
  type ConfigIssue,
} from "../errors.js";
import { maxWriteAttempts, type ConfigReloader } from "../daemon/reloader.js";
import { storeFile } from "../merge/store-overlay.js";
import { formatHostPort, parseHostPort } from "../config/address.js";
import { durationMs } from "../config/duration.js";
import {
  collectionKinds,
  objectKindTable,
  objectKinds,
  splitEndpointName,
  type CollectionKind,
  type ObjectKind,
  type ObjectValue,
  type StoreOperation,
} from "../store/store.js";
import { findResourceType } from "../resource/types.js";
import { redactKeyMaterial } from "../resource/redact.js";
import type { Rollouts } from "../server/observers/rollouts.js";
import { registrationError, withRegistration } from "../merge/registration.js";
import { problemContentType, problemDetails, type ProblemCode } from "../problem-details.js";

export interface WriteApiOptions {
  reloader: ConfigReloader;
  /** Who may write (and the audit log): the daemon's, shared with the admin server's routes. */
  auth?: AdminAuth;
  /** Without `auth`: the one write token writes must present; undefined: writes are refused (403). */
  token?: string;
  /** Largest request body accepted (default defaultMaxBodyBytes). */
  maxBodyBytes?: number;
  /** How publishes reach the proxies: `?wait=acked` waits on them. Without, `?wait=acked` is refused. */
  rollouts?: Rollouts;
  /** Wall clock in ms (registration expiry times); tests pass a fake. */
  now?: () => number;
  /** Most operations one `POST /v1/batch` may hold (default defaultMaxBatchOperations). */
  maxBatchOperations?: number;
  /** Why the store does not answer now (daemon/store-status.ts: degraded), or undefined while it does. */
  storeDown?: () => string | undefined;
}

/**
 * A batch is one store transaction, committed on the thread that serves the proxies: 20,000 operations held it for
 * 0.1–0.7 s (issue 18). 1,000 take a few ms, and are more than an `xdsd apply` of a large file changes at once.
 */
export const defaultMaxBatchOperations = 1000;

/** The largest request body unless `maxBodyBytes` says otherwise (docs/limits.md). */
export const defaultMaxBodyBytes = 1024 * 1024;

/** `?wait=acked` waits this long unless `timeout=` says otherwise, and never longer than the maximum. */
const defaultWaitMs = 10_000;
const maxWaitMs = 300_000;

/** An answer: status, headers, and a JSON body (a problem detail for errors). */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export class WriteApi {
  readonly #auth: AdminAuth;

  constructor(private readonly o: WriteApiOptions) {
    this.#auth =
      o.auth ?? new AdminAuth({ tokens: o.token === undefined ? undefined : AdminTokens.of([{ name: bareTokenName, scope: "write", token: o.token }]) });
  }

  /** Whether `path` belongs to this API (then `handle` answers it). */
  serves(path: string): boolean {
    return path === "/v1" || path.startsWith("/v1/");
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    this.#answer(req, path, new URL(req.url ?? "/", "http://admin").searchParams).then(
      (a) => reply(res, a),
      (err: unknown) => reply(res, problem("XDSD_HTTP_INTERNAL", (err as Error).message)),
    );
  }

  async #answer(req: IncomingMessage, path: string, query: URLSearchParams): Promise<Answer> {
    const parts = decodedSegments(path);
    if (!parts) return problem("XDSD_HTTP_MALFORMED", `the path ${path} has malformed percent-encoding: each %XX must be a byte of UTF-8 text`);
    const method = req.method ?? "";
    if (parts[0] === "batch" && parts.length === 1) {
      if (method !== "POST") return notAllowed(method, "POST");
      const dryRun = query.get("dry_run");
      if (dryRun !== null && dryRun !== "true" && dryRun !== "false") return problem("XDSD_HTTP_MALFORMED", 'dry_run= takes "true" or "false"');
      return this.#write(req, query, () => this.#batch(req, dryRun === "true"));
    }
    const collection = collections[parts[0]];
    if (!collection)
      return problem(
        "XDSD_HTTP_NOT_FOUND",
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
    return problem("XDSD_HTTP_NOT_FOUND", `no such resource ${path}`);
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
    // Not served: the file took its name (config/store-overlay.ts). Said here too, not only in /config.
    const shadowed = this.o.reloader.state?.shadowed?.find((o) => o.kind === c.kind && o.name === name);
    return {
      name,
      managedBy: "api",
      revision,
      ...(shadowed ? { shadowed: { reason: shadowed.reason, definedAt: shadowed.definedAt } } : {}),
      // A raw Secret's private key, a node group's secrets' key_pem: never shown (resource/redact.ts).
      [c.singular]: redactKeyMaterial(value),
      ...(c.kind === "cluster" ? { endpoints: this.#endpointsOf(name) } : {}),
    };
  }

  #get(c: Collection, name: string): Answer {
    const r = this.o.reloader;
    const o = r.storeObject(c.kind, name);
    if (o) return { status: 200, headers: { etag: etag(o.revision) }, body: this.#view(c, name, o.revision, o.value) };
    const at = r.fileDefines(c.kind, name);
    if (at) return { status: 200, body: { name, managedBy: "file", location: at, ...(c.kind === "cluster" ? { endpoints: this.#endpointsOf(name) } : {}) } };
    return problem("XDSD_HTTP_NOT_FOUND", `no ${c.singular.replace("_", " ")} "${name}"`);
  }

  #getEndpoint(cluster: string, endpoint: string): Answer {
    const o = this.#registered(cluster, endpoint);
    if (!o) return problem("XDSD_HTTP_NOT_FOUND", `no endpoint ${endpoint} registered for cluster "${cluster}"`);
    const { endpoint: name } = splitEndpointName(o.name)!;
    return { status: 200, headers: { etag: etag(o.revision) }, body: { cluster, endpoint: name, revision: o.revision, ...o.value } };
  }

  /** The endpoints registered through the API for a cluster. */
  #endpointsOf(cluster: string): { endpoint: string; revision: number; value: ObjectValue }[] {
    return this.o.reloader.storeObjects().objects.flatMap((o) => {
      const split = o.kind === "endpoint" ? splitEndpointName(o.name) : undefined;
      return split?.cluster === cluster ? [{ endpoint: split.endpoint, revision: o.revision, value: o.value }] : [];
    });
  }

  /**
   * The endpoint object registered for `cluster` at `endpoint`, however either spells the address: under its
   * canonical name (address.ts), or under a spelling stored before addresses were canonical.
   */
  #registered(cluster: string, endpoint: string) {
    const hostPort = parseHostPort(endpoint);
    if ("error" in hostPort) return undefined;
    const canonical = formatHostPort(hostPort.address, hostPort.port);
    const r = this.o.reloader;
    const held = r.storeObject("endpoint", `${cluster}/${canonical}`);
    if (held) return held;
    const legacy = this.#endpointsOf(cluster).find((e) => {
      const p = parseHostPort(e.endpoint);
      return !("error" in p) && formatHostPort(p.address, p.port) === canonical;
    });
    return legacy && r.storeObject("endpoint", `${cluster}/${legacy.endpoint}`);
  }

  async #put(req: IncomingMessage, c: Collection, name: string): Promise<Answer> {
    const body = await this.#body(req);
    if ("status" in body) return body;
    const value = c.valueOf(name, body.value);
    if (typeof value === "string") return problem("XDSD_HTTP_MALFORMED", value);
    const existed = this.o.reloader.storeObject(c.kind, name) !== undefined;
    const { revision } = await this.o.reloader.write([{ op: "put", kind: c.kind, name, value, ...condition(req) }], { by: this.#auth.nameOf(req) });
    return { status: existed ? 200 : 201, headers: { etag: etag(revision) }, body: { name, revision } };
  }

  async #delete(req: IncomingMessage, c: Collection, name: string): Promise<Answer> {
    const r = this.o.reloader;
    if (!r.storeObject(c.kind, name) && !r.fileDefines(c.kind, name)) return problem("XDSD_HTTP_NOT_FOUND", `no ${c.singular.replace("_", " ")} "${name}"`);
    const deletion: StoreOperation = { op: "delete", kind: c.kind, name, ...condition(req) };
    // A cluster goes with the endpoints registered for it, in the same transaction: those registered when the write
    // commits, not when the request came (a registration in between would be left without its cluster: issue 18).
    // Unless the file defines the cluster too (the store's was shadowed): its endpoints are the file's cluster's.
    const { revision } = await r.write(
      () =>
        c.kind !== "cluster" || r.fileDefines("cluster", name)
          ? [deletion]
          : [deletion, ...this.#endpointsOf(name).map((e): StoreOperation => ({ op: "delete", kind: "endpoint", name: `${name}/${e.endpoint}` }))],
      { by: this.#auth.nameOf(req) },
    );
    return { status: 200, body: { name, deleted: true, revision } };
  }

  /** `POST /v1/batch`: `{operations: [{op: "put"|"delete", kind, name, value?, if_revision?}]}`, all or nothing. */
  async #batch(req: IncomingMessage, dryRun: boolean): Promise<Answer> {
    const body = await this.#body(req);
    if ("status" in body) return body;
    const list = body.value.operations;
    if (!Array.isArray(list) || list.length === 0) return problem("XDSD_HTTP_MALFORMED", 'the body must be {"operations": [...]} with at least one operation');
    const max = this.o.maxBatchOperations ?? defaultMaxBatchOperations;
    if (list.length > max) return problem("XDSD_HTTP_MALFORMED", `a batch holds at most ${max} operations, this one ${list.length}: split it`);
    const operations: StoreOperation[] = [];
    /** Each object's operation: a transaction changes an object once (as etcd's refuses a key given twice). */
    const named = new Map<string, number>();
    for (const [i, o] of list.entries()) {
      const at = `operations[${i}]`;
      if (typeof o !== "object" || o === null) return problem("XDSD_HTTP_MALFORMED", `${at} must be an object`);
      const { op, kind, name, value, if_revision } = o as Record<string, unknown>;
      const c = Object.values(collections).find((x) => x.kind === kind);
      if (!c && kind !== "endpoint") return problem("XDSD_HTTP_MALFORMED", `${at}.kind must be one of ${objectKinds.join(", ")}`);
      if (typeof name !== "string" || name === "") return problem("XDSD_HTTP_MALFORMED", `${at}.name must be a non-empty string`);
      if (if_revision !== undefined && !(Number.isInteger(if_revision) && (if_revision as number) >= 0)) {
        return problem("XDSD_HTTP_MALFORMED", `${at}.if_revision must be a whole number ≥ 0`);
      }
      const condition = if_revision === undefined ? {} : { ifRevision: if_revision as number };
      // An endpoint by its canonical name (address.ts): two spellings of one are the same object. A deletion keeps a
      // name the store holds as it is (a spelling from before addresses were canonical).
      const objectName = kind === "endpoint" && !(op === "delete" && this.o.reloader.storeObject("endpoint", name)) ? canonicalEndpointName(name) : name;
      const first = named.get(`${String(kind)}\u0000${objectName}`);
      if (first !== undefined) return problem("XDSD_HTTP_MALFORMED", `${at} names ${String(kind)} "${objectName}" again (operations[${first}])`);
      named.set(`${String(kind)}\u0000${objectName}`, i);
      if (op === "delete") {
        operations.push({ op, kind: kind as ObjectKind, name: objectName, ...condition });
        continue;
      }
      if (op !== "put") return problem("XDSD_HTTP_MALFORMED", `${at}.op must be "put" or "delete"`);
      if (typeof value !== "object" || value === null || Array.isArray(value)) return problem("XDSD_HTTP_MALFORMED", `${at}.value must be an object`);
      const stored = c ? c.valueOf(name, value as Record<string, unknown>) : this.#endpointValue(objectName, value as Record<string, unknown>);
      if (typeof stored === "string") return problem("XDSD_HTTP_MALFORMED", `${at}: ${stored}`);
      operations.push({ op, kind: kind as ObjectKind, name: objectName, value: stored, ...condition });
    }
    const { revision } = await this.o.reloader.write(operations, { dryRun, by: this.#auth.nameOf(req) });
    return { status: 200, body: { revision, operations: operations.length, ...(dryRun ? { dry_run: true } : {}) } };
  }

  async #putEndpoint(req: IncomingMessage, cluster: string, endpoint: string): Promise<Answer> {
    const hostPort = parseHostPort(endpoint);
    if ("error" in hostPort) return problem("XDSD_HTTP_MALFORMED", `the path's endpoint: ${hostPort.error}`);
    const r = this.o.reloader;
    if (!r.storeObject("cluster", cluster) && !r.fileDefines("cluster", cluster))
      return problem("XDSD_HTTP_NOT_FOUND", `no cluster "${cluster}" to register ${endpoint} in`);
    const body = await this.#body(req, true);
    if ("status" in body) return body;
    // The endpoint's one name, however the path spells it (address.ts).
    const canonical = formatHostPort(hostPort.address, hostPort.port);
    const name = `${cluster}/${canonical}`;
    const value = this.#endpointValue(name, body.value);
    if (typeof value === "string") return problem("XDSD_HTTP_MALFORMED", value);
    const held = this.#registered(cluster, canonical);
    // One held under another spelling (stored before addresses were canonical) moves to the canonical name.
    const moved: StoreOperation[] = held && held.name !== name ? [{ op: "delete", kind: "endpoint", name: held.name }] : [];
    const { ifRevision } = condition(req);
    const { revision } = await r.write(
      [
        ...moved.map((o) => ({ ...o, ...(ifRevision === undefined ? {} : { ifRevision }) })),
        { op: "put", kind: "endpoint", name, value, ...(ifRevision === undefined || moved.length > 0 ? {} : { ifRevision }) },
      ],
      { by: this.#auth.nameOf(req) },
    );
    return { status: held ? 200 : 201, headers: { etag: etag(revision) }, body: { cluster, endpoint: canonical, revision } };
  }

  async #deleteEndpoint(req: IncomingMessage, cluster: string, endpoint: string): Promise<Answer> {
    const held = this.#registered(cluster, endpoint);
    if (!held) return problem("XDSD_HTTP_NOT_FOUND", `no endpoint ${endpoint} registered for cluster "${cluster}"`);
    const { revision } = await this.o.reloader.write([{ op: "delete", kind: "endpoint", name: held.name, ...condition(req) }], { by: this.#auth.nameOf(req) });
    return { status: 200, body: { cluster, endpoint: splitEndpointName(held.name)!.endpoint, deleted: true, revision } };
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
      return problem("XDSD_HTTP_MALFORMED", wait);
    }
    // Degraded (issue 20): a write would wait out the store's timeout to fail the same way; say so at once.
    const down = this.o.storeDown?.();
    if (down !== undefined) {
      req.resume();
      return storeUnavailable(down);
    }
    const mark = this.o.rollouts?.mark() ?? 0;
    try {
      const answer = await run();
      if (wait === undefined || answer.status >= 300 || !this.o.rollouts) return answer;
      const outcome = await this.o.rollouts.waitForPublish(mark, wait);
      // The write is committed either way; 202 says the proxies have not all taken it (yet).
      return { ...answer, status: outcome.complete ? answer.status : 202, body: { ...(answer.body as object), rollout: outcome } };
    } catch (err) {
      if (err instanceof MalformedConditionError) return problem("XDSD_HTTP_MALFORMED", err.message);
      if (err instanceof PreconditionFailedError) return problem("XDSD_STORE_CONFLICT", err.message);
      if (err instanceof ManagedByFileError) return problem("XDSD_MANAGED_BY_FILE", err.message, { location: err.location });
      if (err instanceof StoreConflictError) return problem("XDSD_STORE_CONFLICT", err.message, { currentRevision: err.actualRevision });
      if (err instanceof StoreRevisionConflictError) {
        // Another writer committed first every time this write was validated (issue 17): nothing is stored.
        return problem(
          "XDSD_STORE_REVISION_CONFLICT",
          `${err.message}. The write was validated ${maxWriteAttempts} times and each time another writer changed the store first; nothing was stored: send it again (or later, if writes are this busy)`,
          { currentRevision: err.storeRevision },
        );
      }
      if (err instanceof StoreUnavailableError) return storeUnavailable(err.message);
      if (err instanceof ConfigError) {
        return problem("XDSD_CONFIG_INVALID", "the write was refused and nothing was stored", { errors: err.issues.map(issueView) });
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
    const ms = durationMs(timeout) ?? Number.NaN;
    if (!(ms > 0 && ms <= maxWaitMs)) return `timeout= must be a duration in seconds from 0.001s to ${maxWaitMs / 1000}s, like "5s"`;
    return ms;
  }

  #authorize(req: IncomingMessage): Answer | undefined {
    const result = this.#auth.check(req, "write");
    return result.granted ? undefined : { status: result.problem.status, body: result.problem, headers: result.headers };
  }

  /** The request's JSON object body; an answer instead when it is not one. */
  async #body(req: IncomingMessage, emptyIsObject = false): Promise<{ value: Record<string, unknown> } | Answer> {
    const type = req.headers["content-type"];
    const limit = this.o.maxBodyBytes ?? defaultMaxBodyBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        return problem("XDSD_HTTP_BODY_TOO_LARGE", `the body is over ${limit} bytes`);
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (text.trim() === "" && emptyIsObject) return { value: {} };
    if (type !== undefined && !/^application\/json\b/i.test(type))
      return problem("XDSD_HTTP_UNSUPPORTED_MEDIA_TYPE", `the body must be application/json, not ${type}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return problem("XDSD_HTTP_MALFORMED", `the body is not JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return problem("XDSD_HTTP_MALFORMED", "the body must be a JSON object");
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

/** How a body becomes the stored value, per kind with a collection (the rest of a collection: store.ts objectKindTable). */
const valueOfKind: Record<CollectionKind, Collection["valueOf"]> = {
  cluster: (name, body) => {
    const v = named("name")(name, body);
    return typeof v === "string" ? v.replace("the body names", "the body names cluster") : { endpoints: [], ...v };
  },
  listener: named("name"),
  "node-group": (_name, body) => body,
  // `/v1/resources/<message type>/<name>`: the resource as Envoy writes it, its "@type" and name from the path.
  resource: (name, body) => {
    const cut = name.lastIndexOf("/");
    const typeUrl = name.slice(0, cut);
    const type = findResourceType(typeUrl);
    if (!type || !typeUrl.startsWith("type.googleapis.com/"))
      return `"${typeUrl}" is not the type URL of an xDS resource type (e.g. type.googleapis.com/envoy.config.cluster.v3.Cluster)`;
    if (body["@type"] !== undefined && body["@type"] !== typeUrl) return `the body's "@type" is "${String(body["@type"])}" but the path's is "${typeUrl}"`;
    const own = body[type.nameField];
    if (own !== undefined && own !== name.slice(cut + 1)) return `the body's ${type.nameField} is "${String(own)}" but the path names "${name.slice(cut + 1)}"`;
    return { ...body, "@type": typeUrl, [type.nameField]: name.slice(cut + 1) };
  },
};

/** The API's collections by path segment (`clusters`, `node-groups`…). */
const collections: Record<string, Collection> = Object.fromEntries(
  collectionKinds.map((kind) => {
    const { apiPath, plural, singular } = objectKindTable[kind];
    return [apiPath, { kind, plural, singular, valueOf: valueOfKind[kind] }];
  }),
);

/** An endpoint's stored value: the body's fields, the address and port from its name `<cluster>/<host:port>`. */
function endpointValue(name: string, body: Record<string, unknown>): ObjectValue | string {
  const endpoint = splitEndpointName(name)?.endpoint ?? "";
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
 * Throws MalformedConditionError for what is not an entity tag (RFC 9110 §8.8.3): a condition the client meant but
 * we cannot read must not be taken for none; and PreconditionFailedError for entity tags none of which can match,
 * like "nope" (§13.1.1: 412, as for a revision that is not the current one). `W/"7"` is taken for revision 7,
 * though If-Match compares strongly: a compressing proxy in front of the admin port weakens the ETags it passes,
 * and a revision names the object's content exactly either way.
 */
function condition(req: IncomingMessage): { ifRevision?: number } {
  const match = req.headers["if-match"];
  const noneMatch = req.headers["if-none-match"];
  if (match !== undefined) {
    if (noneMatch !== undefined) throw new MalformedConditionError('If-Match must be one ETag this API gave, like "7", without If-None-Match');
    const text = String(match).trim();
    const tags = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"(?:[ \t]*,[ \t]*(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")*$/.test(text) ? text.match(/(?:W\/)?"[^"]*"/g)! : [];
    if (tags.length === 0) throw new MalformedConditionError(`If-Match must be one ETag this API gave, like "7", not ${text}`);
    const revisions = tags.flatMap((t) => /^(?:W\/)?"(\d{1,15})"$/.exec(t)?.[1] ?? []);
    if (revisions.length === 0) throw new PreconditionFailedError(`If-Match ${text} matches no revision: this API's ETags are like "7"`);
    if (revisions.length > 1) throw new MalformedConditionError(`If-Match must be one ETag this API gave, like "7", not ${revisions.length}`);
    return { ifRevision: Number(revisions[0]) };
  }
  if (noneMatch !== undefined) {
    if (String(noneMatch).trim() !== "*") throw new MalformedConditionError('If-None-Match takes only "*" (create only)');
    return { ifRevision: 0 };
  }
  return {};
}

class MalformedConditionError extends Error {}

/** An If-Match none of whose entity tags can match: 412, as for one that names another revision. */
class PreconditionFailedError extends Error {}

/** The path's segments, percent-decoded; undefined when one is not UTF-8 percent-encoded (`%FF`, `%E0%A4%A`). */
function decodedSegments(path: string): string[] | undefined {
  try {
    return path.split("/").slice(2).map(decodeURIComponent);
  } catch (err) {
    if (err instanceof URIError) return undefined;
    throw err;
  }
}

/** An endpoint object's name with its address spelled canonically (address.ts); as given when it is not one. */
function canonicalEndpointName(name: string): string {
  const split = splitEndpointName(name);
  const hostPort = split && parseHostPort(split.endpoint);
  return hostPort && !("error" in hostPort) ? `${split.cluster}/${formatHostPort(hostPort.address, hostPort.port)}` : name;
}

function etag(revision: number): string {
  return `"${revision}"`;
}

function problem(code: ProblemCode, detail: string, extensions: Record<string, unknown> = {}): Answer {
  const body = problemDetails(code, detail, extensions);
  return { status: body.status, body };
}

/** Degraded mode (issue 20): the proxies keep the last config; a write must wait for the store. */
function storeUnavailable(why: string): Answer {
  return {
    ...problem(
      "XDSD_STORE_UNAVAILABLE",
      `${why}. Nothing was acknowledged: xdsd keeps serving the last config, and GET /healthz says when the store answers again; then send the write again (a write cut off mid-way may have been applied: read the object first, or send it with If-Match)`,
    ),
    headers: { "retry-after": "5" },
  };
}

function notAllowed(method: string, allowed: string): Answer {
  return { ...problem("XDSD_HTTP_METHOD_NOT_ALLOWED", `${method} is not allowed here; allowed: ${allowed}`), headers: { allow: allowed } };
}

function reply(res: ServerResponse, a: Answer): void {
  const isProblem = a.status >= 400;
  const text = a.body === undefined ? "" : `${JSON.stringify(a.body, null, 2)}\n`;
  res.writeHead(a.status, {
    "content-type": isProblem ? problemContentType : "application/json",
    "content-length": Buffer.byteLength(text),
    ...a.headers,
  });
  res.end(text);
}
