// The admin HTTP endpoints of the daemon (loopback by default):
//   GET /healthz  200 once the xDS port listens, 503 before and while shutting down; `degraded`, still 200, while the
//                 store does not answer (the last config is served), with the store's state (store-status.ts)
//   GET /config   the resources each node group is served, as Envoy JSON, with versions
//   GET /nodes    connected nodes: per type the version sent, the version ACKed, the last NACK; a page at a time
//                 (?limit=, default 100, at most 1,000; ?after= the `next` of the previous page), with the total;
//                 ?diff=true adds each node's diff (node-diff.ts)
//   GET /nodes/{node}  one node (cluster/id, or id): what it holds against what it would be sent now (node-diff.ts)
//   GET /loads    the load LRS clients report, per cluster, locality and endpoint (server/load-reports.ts)
//   GET /metrics  Prometheus metrics (daemon/metrics.ts, docs/metrics.md), when given a source
//   /v1/…         the write API (write-api.ts), when the daemon has a store
//   GET /openapi.json   its OpenAPI 3.1 description (schema/openapi.json, from scripts/gen-openapi.mjs)
//   GET /ui/      the web dashboard and its live feed (ui-routes.ts), when given; read like /nodes
// Every route but /healthz and /openapi.json goes through admin-auth.ts (`require(req, res, "read")`; writes check
// "write" too), over HTTPS with `tls` (mutual TLS with a client CA; rotated credentials for new connections).
import type { Duplex } from "node:stream";
import { readFileSync } from "node:fs";
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { toJson } from "@bufbuild/protobuf";
import { redactKeyMaterial } from "../resource/redact.js";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import type { Snapshot } from "../cache/snapshot.js";
import type { NodeStatuses } from "../server/node-status.js";
import type { ConfigState } from "../daemon/reloader.js";
import type { StoreStatus } from "../daemon/store-status.js";
import { envoyRegistry } from "../resource/proto-registry.js";
import { byPushOrder, resourceType } from "../resource/types.js";
import { listenOn } from "../server/transport/listen-address.js";
import { silentLogger, type Logger } from "../log.js";
import { problemContentType, problemDetails, problemText, type ProblemDetails } from "../problem-details.js";
import { sendJson, sendProblem } from "./http-answers.js";
import type { WriteApi } from "./write-api.js";
import type { LoadsView } from "../server/load-reports.js";
import type { NodeDiff } from "../server/node-diff.js";
import type { UiRoutes } from "./ui-routes.js";
import { AdminAuth } from "./admin-auth.js";
import type { TlsCredentials } from "../server/transport/tls-credentials.js";
import { fromJsonString } from "@bufbuild/protobuf";
import {
  ClientStatusRequestSchema,
  ClientStatusResponseSchema,
  type ClientStatusRequest,
  type ClientStatusResponse,
} from "../gen/envoy/service/status/v3/csds_pb.js";

export interface AdminServerOptions {
  cache: SnapshotCache;
  nodes: NodeStatuses;
  /** True once the xDS port listens and until shutdown starts. */
  healthy(): boolean;
  config?(): ConfigState | undefined;
  /** The store's state, for /healthz: kind, ok or degraded (and why), revision applied, leader. */
  storeStatus?(): StoreStatus;
  /** What GET /metrics serves (an XdsdMetrics, or any prom-client Registry); without it there is no /metrics. */
  metrics?: MetricsSource;
  /** Where a request that failed inside the server is reported. */
  log?: Logger;
  /** The write API (/v1/…), when the daemon has a store. */
  writeApi?: WriteApi;
  /** CSDS as JSON (POST /v3/discovery:client_status): every client's status, as the xDS port's CSDS answers it. */
  clientStatus?(request: ClientStatusRequest): ClientStatusResponse;
  /** GET /nodes/{node}: what the node holds against what it would be sent now; undefined: not connected. */
  nodeDiff?(node: string): NodeDiff | undefined;
  /** GET /nodes?diff=true: the diffs of a page's nodes, each connected one's, in its order. */
  nodeDiffs?(nodes: readonly string[]): NodeDiff[];
  /** GET /loads: what LRS clients report, summed over the window (server/load-reports.ts). */
  loads?(): LoadsView;
  /** The web dashboard (/ui/…). */
  ui?: UiRoutes;
  /** Who may read (and write: the write API shares it); default: reads open, no tokens. */
  auth?: AdminAuth;
  /** Serve HTTPS with these credentials (mutual TLS when they have a client CA). */
  tls?: TlsCredentials;
}

/** The path of CSDS as JSON: FetchClientStatus's google.api.http rule in csds.proto. */
const clientStatusPath = "/v3/discovery:client_status";
/** The largest CSDS request body read (a request is a few node matchers). */
const maxClientStatusRequestBytes = 64 * 1024;

/** Nodes per page of GET /nodes: by default, and at most. */
const defaultNodesPage = 100;
const maxNodesPage = 1000;

export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export class AdminServer {
  readonly #server: Server;
  readonly #unsubscribe: () => void = () => {};
  /** Who may read and write: the one check every route makes (the write API's writes go through it too). */
  readonly auth: AdminAuth;

  constructor(private readonly o: AdminServerOptions) {
    this.auth = o.auth ?? new AdminAuth();
    // No exception from a request may escape: it would end the process, and the xDS port with it. A request the
    // handlers cannot make sense of gets 400, a failure of ours 500, and the server keeps serving.
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      try {
        this.#handle(req, res);
      } catch (err) {
        (o.log ?? silentLogger).error(`admin ${req.method} ${JSON.stringify(req.url)} failed: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) sendProblem(res, problemDetails("XDSD_HTTP_INTERNAL", "internal error; see the xdsd log"));
        else res.destroy();
      }
    };
    const tls = o.tls;
    // HTTP/1.1 over TLS; with a client CA the handshake fails without a certificate that chains to it. A plaintext
    // request to this port fails the handshake too (nothing is answered to it).
    this.#server = tls ? createHttpsServer({ ...tls.options, requestCert: tls.mutual, rejectUnauthorized: tls.mutual }, handler) : createServer(handler);
    if (tls) {
      const server = this.#server as unknown as import("node:tls").Server;
      this.#unsubscribe = tls.onChange((options) => server.setSecureContext(options));
      // A failed handshake (plaintext, no client certificate, another CA's) is the client's problem: said at debug,
      // where an operator chasing a refused client looks (XDSD_DEBUG=admin).
      server.on("tlsClientError", (err, socket) =>
        o.log?.debug?.(`admin TLS handshake from ${socket.remoteAddress}:${socket.remotePort} failed: ${err.message}`),
      );
    }
    // Requests node:http cannot parse, and CONNECT (which node hands to a 'connect' listener or else drops without
    // a word): each gets an answer that says what was wrong.
    this.#server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
      const code = err.code === "HPE_HEADER_OVERFLOW" ? "XDSD_HTTP_HEADERS_TOO_LARGE" : "XDSD_HTTP_MALFORMED";
      rawAnswer(socket, problemDetails(code, `malformed HTTP request: ${err.code ?? err.message}`));
    });
    this.#server.on("connect", (_req: IncomingMessage, socket: Duplex) =>
      rawAnswer(socket, problemDetails("XDSD_HTTP_METHOD_NOT_ALLOWED", "only GET is supported")),
    );
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.#server, { host, port });
  }

  close(): Promise<void> {
    this.#unsubscribe();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = requestPath(req.url);
    if (path === "/openapi.json" && req.method === "GET" && this.o.writeApi) {
      const text = openApiText();
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    // Every write gets its audit line, the refused ones too (a wrong token is refused by the read check below).
    if (path !== undefined && this.o.writeApi?.serves(path) && req.method !== "GET" && req.method !== "HEAD") this.auth.audit(req, res);
    // /healthz is open whatever the address: a liveness probe (kubelet's httpGet) carries no token, and it says only
    // whether xDS is served (docs/security.md). The OpenAPI description above is the public one of the repository.
    if (!(path === "/healthz" && req.method === "GET") && !this.auth.require(req, res, "read")) return;
    if (path !== undefined && this.o.writeApi?.serves(path)) {
      this.o.writeApi.handle(req, res, path);
      return;
    }
    // Read like /nodes: the same rule for who may see the fleet (issue 22).
    if (path !== undefined && this.o.ui?.serves(path)) {
      this.o.ui.handle(req, res, path);
      return;
    }
    if (path === clientStatusPath && req.method === "POST" && this.o.clientStatus) {
      this.#clientStatus(req, res, this.o.clientStatus);
      return;
    }
    const metrics = this.o.metrics;
    if (metrics && req.method === "GET" && requestPath(req.url) === "/metrics") {
      this.#sendMetrics(req, res, metrics);
      return;
    }
    const answer = this.#answer(req);
    if (Array.isArray(answer)) sendJson(res, answer[0], answer[1]);
    else sendProblem(res, answer);
    this.o.log?.debug?.(`admin ${req.method} ${JSON.stringify(req.url)} ${Array.isArray(answer) ? answer[0] : answer.status}`);
  }

  /** CSDS as proto3 JSON: a ClientStatusRequest in (an empty body asks for every client), a ClientStatusResponse out. */
  #clientStatus(req: IncomingMessage, res: ServerResponse, answer: (request: ClientStatusRequest) => ClientStatusResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxClientStatusRequestBytes) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > maxClientStatusRequestBytes)
        return sendProblem(res, problemDetails("XDSD_HTTP_BODY_TOO_LARGE", `a CSDS request is at most ${maxClientStatusRequestBytes} bytes`));
      let request: ClientStatusRequest;
      try {
        const text = Buffer.concat(chunks).toString("utf8").trim();
        request = fromJsonString(ClientStatusRequestSchema, text === "" ? "{}" : text, { registry: envoyRegistry() });
      } catch (err) {
        return sendProblem(
          res,
          problemDetails("XDSD_HTTP_MALFORMED", `the body is not an envoy.service.status.v3.ClientStatusRequest in proto3 JSON: ${(err as Error).message}`),
        );
      }
      sendJson(res, 200, toJson(ClientStatusResponseSchema, answer(request), { registry: envoyRegistry() }));
    });
  }

  /** The exposition is built asynchronously (prom-client's collect may be async): failures are answered here. */
  #sendMetrics(req: IncomingMessage, res: ServerResponse, source: MetricsSource): void {
    source.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": source.contentType, "content-length": Buffer.byteLength(text) });
        res.end(text);
      },
      (err: unknown) => {
        (this.o.log ?? silentLogger).error(`admin ${req.method} ${JSON.stringify(req.url)} failed: ${(err as Error).stack ?? String(err)}`);
        if (!res.headersSent) sendProblem(res, problemDetails("XDSD_HTTP_INTERNAL", "internal error; see the xdsd log"));
        else res.destroy();
      },
    );
  }

  /** The status and JSON body for a request, or the problem it has. */
  #answer(req: IncomingMessage): [number, unknown] | ProblemDetails {
    const path = requestPath(req.url);
    if (path === undefined)
      return problemDetails("XDSD_HTTP_MALFORMED", `malformed request target ${JSON.stringify(req.url)}; expected a path such as /healthz`);
    if (req.method !== "GET") return problemDetails("XDSD_HTTP_METHOD_NOT_ALLOWED", "only GET is supported");
    if (path === "/loads" && this.o.loads) return [200, this.o.loads()];
    if (path.startsWith("/nodes/") && this.o.nodeDiff) return nodeDiffAnswer(this.o.nodeDiff, path.slice("/nodes/".length));
    switch (path) {
      case "/healthz":
        return this.o.healthy() ? [200, this.#health()] : [503, { status: "not serving" }];
      case "/config":
        return [200, this.#configView()];
      case "/nodes":
        return this.#nodesPage(req.url!);
      default:
        return problemDetails("XDSD_HTTP_NOT_FOUND", `no such endpoint ${path}`, {
          endpoints: [
            "/healthz",
            "/config",
            "/nodes",
            ...(this.o.loads ? ["/loads"] : []),
            ...(this.o.metrics ? ["/metrics"] : []),
            ...(this.o.writeApi ? ["/v1/clusters", "/openapi.json"] : []),
            ...(this.o.ui ? ["/ui/"] : []),
          ],
        });
    }
  }

  /** Serving: ok, or degraded (still serving the last config) while the store does not answer. */
  #health(): unknown {
    const store = this.o.storeStatus?.();
    if (!store) return { status: "ok" };
    return store.state === "ok" ? { status: "ok", store } : { status: "degraded", reason: store.reason, store };
  }

  /** One page of /nodes: a bounded answer however many nodes are connected (issue 18). */
  #nodesPage(target: string): [number, unknown] | ProblemDetails {
    // As requestPath reads it (which has accepted it): an origin-form target on a fixed origin, or absolute-form.
    const query = new URL(target.startsWith("/") ? `http://admin${target}` : target).searchParams;
    const limitText = query.get("limit");
    const limit = limitText === null ? defaultNodesPage : Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > maxNodesPage) {
      return problemDetails(
        "XDSD_HTTP_MALFORMED",
        `limit must be a whole number from 1 to ${maxNodesPage}, not ${JSON.stringify(limitText)}; the default is ${defaultNodesPage}`,
      );
    }
    const page = this.o.nodes.page({ after: query.get("after") ?? undefined, limit });
    const diff = query.get("diff");
    if (diff === null || diff === "false") return [200, page];
    if (diff !== "true" || !this.o.nodeDiffs) return problemDetails("XDSD_HTTP_MALFORMED", `diff must be true or false, not ${JSON.stringify(diff)}`);
    // Each node with what it holds against what it would be sent now, as GET /nodes/{node} says it, for a page of
    // nodes at once: `xdsd status --version` over thousands of proxies asks a page at a time, not one node each.
    return [200, { ...page, diffs: this.o.nodeDiffs(page.nodes.map((n) => n.node)) }];
  }

  #configView(): unknown {
    const { cache } = this.o;
    const state = this.o.config?.();
    const groups: Record<string, unknown> = {};
    for (const key of cache.keys().sort()) groups[key] = snapshotView(cache.snapshotFor(key)!);
    const def = cache.defaultSnapshot();
    return {
      config: state && {
        file: state.file,
        version: state.version,
        loadedAt: state.loadedAt.toISOString(),
        lastError: state.lastError && { version: state.lastError.version, at: state.lastError.at.toISOString(), message: state.lastError.message },
        shadowed: state.shadowed ?? [],
      },
      default: def ? snapshotView(def) : null,
      nodes: groups,
    };
  }
}

/** GET /nodes/{node}: the node's name percent-encoded (`cluster.local%2Fenvoy-1`), or its slash as is. */
function nodeDiffAnswer(diff: (node: string) => NodeDiff | undefined, encoded: string): [number, unknown] | ProblemDetails {
  let node: string;
  try {
    node = decodeURIComponent(encoded);
  } catch {
    return problemDetails("XDSD_HTTP_MALFORMED", `malformed node name ${JSON.stringify(encoded)}: percent-encode it (cluster%2Fid)`);
  }
  const found = diff(node);
  return found
    ? [200, found]
    : problemDetails("XDSD_HTTP_NOT_FOUND", `no connected node is named ${JSON.stringify(node)} (as cluster/id or id); GET /nodes lists those that are`);
}

function snapshotView(snapshot: Snapshot): Record<string, unknown> {
  const registry = envoyRegistry();
  const out: Record<string, unknown> = {};
  for (const typeUrl of byPushOrder(snapshot.typeUrls())) {
    const type = resourceType(typeUrl);
    out[type.short] = {
      typeUrl,
      version: snapshot.typeVersion(typeUrl),
      resources: [...snapshot.resources(typeUrl).values()].map((r) => ({
        name: r.name,
        version: r.version,
        // Private keys (a Secret's, or inline in a Listener's or Cluster's TLS context) are never shown.
        resource: redactKeyMaterial(toJson(type.schema, r.message, { registry })),
      })),
    };
  }
  return out;
}

/**
 * The path of a request target (RFC 9112 §3.2: origin-form `/path?query`, or absolute-form). `new URL(target, base)`
 * reads `//host...` as a network path and throws on one it cannot parse (`//[`, `//a:99999`), so an origin-form
 * target is parsed on a fixed origin as a path only. Undefined for a target that is neither.
 */
function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined;
  try {
    if (target.startsWith("/")) return new URL(`http://admin${target}`).pathname;
    const url = new URL(target);
    return url.protocol === "http:" || url.protocol === "https:" ? url.pathname : undefined;
  } catch {
    return undefined;
  }
}

/** A problem written straight to a socket that node:http no longer manages, then the end of the connection. */
function rawAnswer(socket: Duplex, problem: ProblemDetails): void {
  if (!socket.writable) return void socket.destroy();
  const body = problemText(problem);
  const statusLine = `${problem.status} ${STATUS_CODES[problem.status]}`;
  socket.end(`HTTP/1.1 ${statusLine}\r\nContent-Type: ${problemContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

let openApi: string | undefined;

/** schema/openapi.json of the package (read once): from dist/src/admin/ it is three levels up. */
function openApiText(): string {
  return (openApi ??= readFileSync(new URL("../../../schema/openapi.json", import.meta.url), "utf8"));
}
