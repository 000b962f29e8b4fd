// The web dashboard on the admin port (issue 22):
//   GET /ui/                 the page (dist/ui/, bundled at build time from ui/ by scripts/build.mjs); its scripts,
//                            styles and fonts are all served from here: nothing is fetched from elsewhere (the
//                            Content-Security-Policy says so to the browser too)
//   GET /ui/events           the live feed (server-sent events, ui-events.ts)
//   GET /ui/api/info         this daemon's control plane id (its replica name) and the version it serves
//   GET /ui/api/versions     per node group, the version of each type served now: a proxy that NACKed a change
//                            and holds what is served again (the change was reverted) is in sync
//   GET /ui/api/changes      the config history (daemon/change-history.ts), newest first, without the resources'
//                            content; GET /ui/api/changes/{seq} one entry with it
// The page reads everything else from the API it shows: /nodes, /config, CSDS JSON, /v1/…, /loads.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import type { Snapshot } from "../cache/snapshot.js";
import type { ChangeHistory } from "../daemon/change-history.js";
import { resourceType } from "../resource/types.js";
import type { UiEvents } from "./ui-events.js";
import { problemDetails } from "../problem-details.js";
import { sendJson, sendProblem } from "./http-answers.js";

export interface UiRoutesOptions {
  cache: SnapshotCache;
  events: UiEvents;
  history: ChangeHistory;
  /** The xDS responses' control_plane.identifier: which replica this page shows. */
  controlPlaneId?: string;
  /** The version served now. */
  version(): string | undefined;
  /** Where the bundle is (tests); by default dist/ui/ of the package. */
  bundleDir?: URL;
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Everything the page loads comes from this origin; the page may not be framed (clickjacking of the drain buttons). */
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

export class UiRoutes {
  #files: Map<string, StaticFile> | undefined;

  constructor(private readonly o: UiRoutesOptions) {}

  /** Whether `path` is the dashboard's (then `handle` answers it). */
  serves(path: string): boolean {
    return path === "/ui" || path.startsWith("/ui/");
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== "GET" && req.method !== "HEAD")
      return void sendProblem(res, problemDetails("XDSD_HTTP_METHOD_NOT_ALLOWED", "only GET is supported under /ui/"), { allow: "GET, HEAD", ...noStore });
    if (path === "/ui") return void send(res, 308, { error: "the dashboard is at /ui/" }, { location: "/ui/" });
    if (path === "/ui/events") return void this.o.events.follow(res);
    if (path === "/ui/api/info") return void send(res, 200, { controlPlaneId: this.o.controlPlaneId ?? null, version: this.o.version() ?? null });
    if (path === "/ui/api/versions") {
      const { cache } = this.o;
      const def = cache.defaultSnapshot();
      const groups = Object.fromEntries(cache.keys().map((key) => [key, typeVersions(cache.snapshotFor(key)!)]));
      return void send(res, 200, { default: def ? typeVersions(def) : null, groups });
    }
    if (path === "/ui/api/changes") {
      const entries = this.o.history.list().map(({ changes, ...rest }) => ({ ...rest, changes: changes.map(({ before: _b, after: _a, ...c }) => c) }));
      return void send(res, 200, { entries });
    }
    const seq = /^\/ui\/api\/changes\/(\d+)$/.exec(path)?.[1];
    if (seq !== undefined) {
      const entry = this.o.history.get(Number(seq));
      if (entry) return void send(res, 200, entry);
      return void sendProblem(res, problemDetails("XDSD_HTTP_NOT_FOUND", `no change ${seq} in the history; GET /ui/api/changes lists those kept`), noStore);
    }
    const file = this.#bundle().get(path === "/ui/" ? "index.html" : path.slice("/ui/".length));
    if (!file) return void sendProblem(res, problemDetails("XDSD_HTTP_NOT_FOUND", `no such file ${path} in the dashboard; it is at /ui/`), noStore);
    const headers = {
      "content-type": file.type,
      "content-length": String(file.body.length),
      etag: file.etag,
      // Revalidated on every load (an upgraded daemon serves a new bundle under the same names); a 304 is cheap.
      "cache-control": "no-cache",
      "content-security-policy": contentSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    };
    if (req.headers["if-none-match"] === file.etag) {
      res.writeHead(304, { etag: file.etag, "cache-control": "no-cache" });
      return void res.end();
    }
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : file.body);
  }

  /** The bundle's files by name, read once: only those are served (no path from a request reaches the file system). */
  #bundle(): Map<string, StaticFile> {
    if (this.#files) return this.#files;
    const dir = this.o.bundleDir ?? new URL("../../ui/", import.meta.url);
    const files = new Map<string, StaticFile>();
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      // No bundle (a build without its ui step): every file is a 404 that says where the dashboard is.
    }
    for (const name of names) {
      const type = contentTypes[name.slice(name.lastIndexOf("."))];
      if (!type) continue;
      const body = readFileSync(new URL(name, dir));
      files.set(name, { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` });
    }
    return (this.#files = files);
  }
}

/** By short type name, the version of the type's resources (a full-state response's `version_info`). */
function typeVersions(snapshot: Snapshot): Record<string, string> {
  return Object.fromEntries(snapshot.typeUrls().map((typeUrl) => [resourceType(typeUrl).short, snapshot.typeVersion(typeUrl)]));
}

/** The dashboard's data changes with every publish: never cached. */
const noStore = { "cache-control": "no-store" };

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { ...noStore, ...headers });
}
