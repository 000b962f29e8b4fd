// The config worker thread: reads, parses, validates, translates and encodes a config file, then hands the encoded
// snapshots to the main thread (transferable-snapshots.ts). Parsing a large file takes seconds (about 1.5 µs a
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
import { toTransferable, type TransferableSnapshots } from "./transferable-snapshots.js";

export interface ConfigWorkerRequest {
  id: number;
  file: string;
  limits: Partial<ConfigLimits>;
  /** Version (content hash) of the file content last loaded: if it is still the same, nothing is parsed. */
  knownVersion?: string;
  /** Store objects merged into the file's document (store-overlay.ts), and a name for their state. */
  overlay?: { objects: readonly OverlayObject[]; version: string };
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
  | { id: number; kind: "invalid"; version?: string; issues: ConfigIssue[] }
  | { id: number; kind: "failed"; version?: string; message: string };

/** Kept across loads: a reload translates only the entries that changed (translation-cache.ts). */
const cache = new TranslationCache();

function handle(request: ConfigWorkerRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  const { id, file, limits } = request;
  let version: string | undefined;
  try {
    const bytes = readConfigBytes(file, limits.maxBytes);
    // The version of what is served: the file's content, and the store's state when there is a store.
    version = request.overlay ? `${contentHash(bytes)}+${request.overlay.version}` : contentHash(bytes);
    if (version === request.knownVersion) return { reply: { id, kind: "unchanged", version }, transfer: [] };
    const snapshots = snapshotsOfText(bytes.toString("utf8"), file, limits, cache, request.overlay?.objects);
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
