// The config worker thread: reads, parses, validates, translates and encodes a config file, then hands the encoded
// snapshots to the main thread (transferable-snapshots.ts); and answers store writes that change only endpoints
// from the file's document as last loaded (endpoint-writes.ts). Parsing a large file takes seconds (about 1.5 µs a
// byte with source positions) and, for hostile input, a lot of memory; here it takes neither from the thread that
// serves the proxies, and running out of memory ends this thread (the worker's heap limit), not the daemon. A
// reload reads the text with the fast reader and translates only the entries that changed (publish.ts,
// snapshotsOfText); only what the snapshot ends up holding is transferred.
import { parentPort } from "node:worker_threads";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { contentHash } from "../resource/encoded-resource.js";
import type { ConfigLimits } from "./config-limits.js";
import { readConfigBytes } from "./load.js";
import { snapshotsOfText, type FileName } from "./publish.js";
import { TranslationCache } from "./translation-cache.js";
import type { OverlayObject } from "./store-overlay.js";
import { resourcesToTransferable, toTransferable, type TransferableResources, type TransferableSnapshots } from "./transferable-snapshots.js";
import { clusterEndpointsUpdate, type ClusterEndpointsChange } from "./endpoint-writes.js";

export type ConfigWorkerRequest = LoadRequest | EndpointsRequest;

/** Load the file (and the store's objects): the whole config. */
export interface LoadRequest {
  id: number;
  kind?: "load";
  file: string;
  limits: Partial<ConfigLimits>;
  /** Version (content hash) of the file content last loaded: if it is still the same, nothing is parsed. */
  knownVersion?: string;
  /** Store objects merged into the file's document (store-overlay.ts), and a name for their state. */
  overlay?: { objects: readonly OverlayObject[]; version: string };
}

/** The resources of clusters whose store endpoints changed, from the file's document as last loaded. */
export interface EndpointsRequest {
  id: number;
  kind: "endpoints";
  file: string;
  /** The content hash of the file being served: the document merged into must be that content. */
  fileVersion: string;
  changes: readonly ClusterEndpointsChange[];
}

export type ConfigWorkerReply =
  | { id: number; kind: "unchanged"; version: string }
  | {
      id: number;
      kind: "loaded";
      version: string;
      snapshots: TransferableSnapshots;
      summary: Record<string, number>;
      groups: number;
      fileNames: FileName[];
    }
  /** The answer to an EndpointsRequest: the changed clusters' resources. */
  | { id: number; kind: "resources"; resources: TransferableResources }
  /** An EndpointsRequest this path cannot settle: load the whole config. */
  | { id: number; kind: "full" }
  | { id: number; kind: "invalid"; version?: string; issues: ConfigIssue[] }
  | { id: number; kind: "failed"; version?: string; message: string };

/** Kept across loads: a reload translates only the entries that changed (translation-cache.ts). */
const cache = new TranslationCache();

/** The file's document of the last load that succeeded: what is served, and what endpoint writes merge into. */
let lastLoaded: { file: string; fileVersion: string; document: unknown } | undefined;

function handle(request: ConfigWorkerRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  return request.kind === "endpoints" ? endpoints(request) : load(request);
}

function endpoints(request: EndpointsRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  const { id, file } = request;
  try {
    const resources =
      lastLoaded?.file === file && lastLoaded.fileVersion === request.fileVersion
        ? clusterEndpointsUpdate(lastLoaded.document, file, request.changes)
        : undefined;
    if (!resources) return { reply: { id, kind: "full" }, transfer: [] };
    const payload = resourcesToTransferable(resources);
    return { reply: { id, kind: "resources", resources: payload }, transfer: [payload.bytes.buffer as ArrayBuffer] };
  } catch (err) {
    return { reply: { id, kind: "failed", message: (err as Error).stack ?? String(err) }, transfer: [] };
  }
}

function load(request: LoadRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  const { id, file, limits } = request;
  let version: string | undefined;
  try {
    const bytes = readConfigBytes(file, limits.maxBytes);
    const fileVersion = contentHash(bytes);
    // The version of what is served: the file's content, and the store's state when there is a store.
    version = request.overlay ? `${fileVersion}+${request.overlay.version}` : fileVersion;
    if (version === request.knownVersion) return { reply: { id, kind: "unchanged", version }, transfer: [] };
    const snapshots = snapshotsOfText(bytes.toString("utf8"), file, limits, cache, request.overlay?.objects);
    lastLoaded = { file, fileVersion, document: snapshots.fileDocument };
    const { payload, transfer } = toTransferable(snapshots);
    const reply: ConfigWorkerReply = {
      id,
      kind: "loaded",
      version,
      snapshots: payload,
      summary: snapshots.defaults.summary(),
      groups: snapshots.nodes.size,
      fileNames: snapshots.fileNames,
    };
    return { reply, transfer };
  } catch (err) {
    if (err instanceof ConfigError) return { reply: { id, kind: "invalid", version, issues: [...err.issues] }, transfer: [] };
    return { reply: { id, kind: "failed", version, message: (err as Error).stack ?? String(err) }, transfer: [] };
  }
}

parentPort?.on("message", (request: ConfigWorkerRequest) => {
  const { reply, transfer } = handle(request);
  parentPort!.postMessage(reply, transfer);
});
