// The config worker thread: reads, parses, validates, translates and encodes a config file, then hands the encoded
// snapshots to the main thread (transferable-snapshots.ts); and settles store writes from what it loaded last
// (store-writes.ts). Parsing a large file takes seconds (about 1.5 µs a byte with source positions) and, for
// hostile input, a lot of memory; here it takes neither from the thread that serves the proxies, and running out
// of memory ends this thread (the worker's heap limit), not the daemon. A reload reads the text with the fast
// reader and translates only the entries that changed (merge/merged-load.ts snapshotsOfText); only what the snapshot ends
// up holding is transferred.
import { readFileSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { contentHash } from "../resource/encoded-resource.js";
import type { ConfigLimits } from "../config/config-limits.js";
import { readConfigBytes } from "../config/load.js";
import { ConfigSource } from "../config/source.js";
import { snapshotsOfText, type FileName } from "../merge/merged-load.js";
import type { ConfigSnapshots } from "../config/snapshots.js";
import { TranslationCache } from "../config/translation-cache.js";
import { overlayKey, type OverlayObject, type ShadowedObject } from "../merge/store-overlay.js";
import type { StoreOperation } from "../store/store.js";
import { changesToTransferable, toTransferable, type TransferableGroupChanges, type TransferableSnapshots } from "./transferable-snapshots.js";
import { changesBetween, settleStoreWrite, type GroupChanges, type LoadedState } from "./store-writes.js";
import { deepFreeze } from "../config/unlocated-source.js";

export type ConfigWorkerRequest = LoadRequest | StoreWriteRequest;

/** Load the file (and the store's objects): the whole config. */
export interface LoadRequest {
  id: number;
  kind?: "load";
  file: string;
  limits: Partial<ConfigLimits>;
  /** Version (content hash) of the file content last loaded: if it is still the same, nothing is parsed. */
  knownVersion?: string;
  /**
   * Store objects merged into the file's document (store-overlay.ts), and a name for their state; `written`: the
   * overlayKeys of those a write is putting (a clash of theirs is an issue, not a shadow).
   */
  overlay?: { objects: readonly OverlayObject[]; version: string; written?: readonly string[] };
  /** The state the main thread serves (the id of the request that made it), if it knows one. */
  served?: number;
}

/** A store write, settled from the state the main thread serves (store-writes.ts). */
export interface StoreWriteRequest {
  id: number;
  kind: "store-write";
  file: string;
  served: number;
  operations: readonly StoreOperation[];
}

export type ConfigWorkerReply =
  | { id: number; kind: "unchanged"; version: string }
  | {
      id: number;
      kind: "loaded";
      version: string;
      /**
       * The snapshots: whole, or as the changes from those of the state served (the request's `served`) when the
       * worker holds it — a reload then sends what changed, not every resource.
       */
      snapshots: { whole: TransferableSnapshots } | { changes: TransferableGroupChanges[] };
      summary: Record<string, number>;
      groups: number;
      fileNames: FileName[];
      shadowed: readonly ShadowedObject[];
      /** The secrets' files the load read (watched by the reloader). */
      files: readonly string[];
      /** What is served all the same but wants attention (an expired certificate…), located. */
      warnings: readonly ConfigIssue[];
    }
  /** The answer to a StoreWriteRequest: what changed in the snapshots served, and the store objects left out. */
  | { id: number; kind: "changes"; changes: TransferableGroupChanges[]; shadowed: readonly ShadowedObject[] }
  /** A StoreWriteRequest this path cannot settle: load the whole config. */
  | { id: number; kind: "full" }
  | { id: number; kind: "invalid"; version?: string; issues: ConfigIssue[]; files: readonly string[] }
  | { id: number; kind: "failed"; version?: string; message: string };

function changedCount(changes: readonly GroupChanges[]): number {
  return changes.reduce((n, c) => n + c.upsert.length + c.remove.length, 0);
}

function resourceCount(snapshots: ConfigSnapshots): number {
  return [snapshots.defaults, ...snapshots.nodes.values()].reduce((n, s) => n + s.typeUrls().reduce((m: number, t: string) => m + s.resources(t).size, 0), 0);
}

/** Kept across loads: a reload translates only the entries that changed (translation-cache.ts). */
const cache = new TranslationCache();

/**
 * The secrets' files the last load read (config/secrets.ts). They are part of what is served but not of the config
 * file's text: the version of a load covers their content too, so that a rotated certificate is a new version (and
 * an unchanged one is not loaded again).
 */
let secretFiles: readonly string[] = [];

/** The version of the config file's content (`fileHash`) with the content of the secrets' files it reads. */
function versionWithFiles(fileHash: string, files: ReadonlyMap<string, Buffer | Error>): string {
  if (files.size === 0) return fileHash;
  const parts = [...files]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, bytes]) => `${path}\u0000${bytes instanceof Error ? "unreadable" : contentHash(bytes)}`);
  return contentHash(Buffer.from([fileHash, ...parts].join("\u0000")));
}

/** The secrets' files as they are now: each one's content, or why it cannot be read. */
function currentFiles(paths: readonly string[]): Map<string, Buffer | Error> {
  return new Map(paths.map((path) => [path, readOrError(path)]));
}

function readOrError(path: string): Buffer | Error {
  try {
    return readFileSync(path);
  } catch (err) {
    return err as Error;
  }
}

/**
 * What this worker loaded for the state the main thread serves, and what it loaded after it (a file that was then
 * published, or a store write that may not be committed): each request names the state served, which promotes the
 * candidate that it is (store-writes.ts).
 */
let held: LoadedState | undefined;
let candidate: LoadedState | undefined;

/** The held state if it is the one served (the candidate becomes it when it is). */
function servedState(served: number | undefined): LoadedState | undefined {
  if (served !== undefined && candidate?.tag === served) {
    held = candidate;
    candidate = undefined;
  }
  return served !== undefined && held?.tag === served ? held : undefined;
}

function handle(request: ConfigWorkerRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  return request.kind === "store-write" ? storeWrite(request) : load(request);
}

function storeWrite(request: StoreWriteRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  const { id, file } = request;
  const base = servedState(request.served);
  if (base?.file !== file) return { reply: { id, kind: "full" }, transfer: [] };
  try {
    const { state, changes } = settleStoreWrite(base, request.operations, cache, id);
    candidate = state;
    const { payload, transfer } = changesToTransferable(changes);
    return { reply: { id, kind: "changes", changes: payload, shadowed: state.shadowed }, transfer };
  } catch (err) {
    if (err instanceof ConfigError) return { reply: { id, kind: "full" }, transfer: [] };
    return { reply: { id, kind: "failed", message: (err as Error).stack ?? String(err) }, transfer: [] };
  }
}

function load(request: LoadRequest): { reply: ConfigWorkerReply; transfer: ArrayBuffer[] } {
  const { id, file, limits } = request;
  let version: string | undefined;
  // What this load reads of the secrets' files, as it reads it: its version is made of that. The files the last
  // load read are read once, for the version check, and a load that follows uses those bytes.
  const read = new Map<string, Buffer | Error>();
  let current: Map<string, Buffer | Error> | undefined;
  const readFile = (path: string): Buffer => {
    const bytes = current?.get(path) ?? readOrError(path);
    read.set(path, bytes);
    if (bytes instanceof Error) throw bytes;
    return bytes;
  };
  const withOverlay = (fileVersion: string) => (request.overlay ? `${fileVersion}+${request.overlay.version}` : fileVersion);
  let fileHash: string | undefined;
  try {
    const bytes = readConfigBytes(file, limits.maxBytes);
    fileHash = contentHash(bytes);
    // The version of what is served: the file's content (and its secrets' files'), and the store's state when there is a store.
    current = currentFiles(secretFiles);
    version = withOverlay(versionWithFiles(fileHash, current));
    const base = servedState(request.served);
    if (version === request.knownVersion) return { reply: { id, kind: "unchanged", version }, transfer: [] };
    // Frozen, as the objects held for store writes are (store-writes.ts): their entries carry over between loads.
    const objects = (request.overlay?.objects ?? []).map((o) => ({ ...o, value: deepFreeze(o.value) }));
    const written = request.overlay?.written && new Set(request.overlay.written);
    const text = bytes.toString("utf8");
    const loaded = snapshotsOfText(text, file, limits, cache, objects, written, readFile);
    secretFiles = [...read.keys()];
    version = withOverlay(versionWithFiles(fileHash, read));
    const snapshots = { ...loaded, shadowed: withLines(loaded.shadowed, text, file, limits) };
    candidate = {
      tag: id,
      file,
      fileDocument: snapshots.fileDocument,
      objects: new Map(objects.map((o) => [overlayKey(o.kind, o.name), o])),
      snapshots,
      shadowed: snapshots.shadowed,
    };
    // The main thread serves `base`: what changed from it is all that needs to cross, and it derives the rest —
    // unless most of it changed: deriving costs about five times what building does per resource (Snapshot.update
    // keeps the type hashes by xor), so a change of more than a quarter crosses whole.
    const changed = base?.file === file ? changesBetween(base.snapshots, snapshots) : undefined;
    const changes = changed && changedCount(changed) * 4 <= resourceCount(snapshots) ? changesToTransferable(changed) : undefined;
    const whole = changes ? undefined : toTransferable(snapshots);
    const transfer = changes?.transfer ?? whole!.transfer;
    const reply: ConfigWorkerReply = {
      id,
      kind: "loaded",
      version,
      snapshots: changes ? { changes: changes.payload } : { whole: whole!.payload },
      summary: snapshots.defaults.summary(),
      groups: snapshots.nodes.size,
      fileNames: snapshots.fileNames,
      shadowed: snapshots.shadowed,
      files: secretFiles,
      warnings: snapshots.warnings,
    };
    return { reply, transfer };
  } catch (err) {
    // A refused load keeps watching what it read too: fixing a secret's file must bring the config back.
    if (read.size > 0) {
      secretFiles = [...new Set([...secretFiles, ...read.keys()])];
      // The version of what this load judged — the bytes it read — not of the files as they are now: one replaced
      // meanwhile (the certificate after its key, in a rotation) must make the next load's version differ, or that
      // load would be taken for this one, unchanged, and the new certificate never served.
      const judged = new Map(secretFiles.map((path) => [path, read.get(path) ?? current?.get(path) ?? readOrError(path)]));
      if (fileHash !== undefined) version = withOverlay(versionWithFiles(fileHash, judged));
    }
    if (err instanceof ConfigError) return { reply: { id, kind: "invalid", version, issues: [...err.issues], files: secretFiles }, transfer: [] };
    return { reply: { id, kind: "failed", version, message: (err as Error).stack ?? String(err) }, transfer: [] };
  }
}

/**
 * Store objects left out, what takes their place in the file located with its line (the operator is told where):
 * the fast reader has no positions, so the text is read once more with them — here, off the thread that serves the
 * proxies, and only while something is left out. A store write keeps these locations (store-writes.ts).
 */
function withLines(shadowed: readonly ShadowedObject[], text: string, file: string, limits: Partial<ConfigLimits>): readonly ShadowedObject[] {
  if (!shadowed.some((s) => s.byPath && s.by.line === undefined)) return shadowed;
  const source = new ConfigSource(text, file, limits);
  return shadowed.map((s) => (s.byPath && s.by.line === undefined ? { ...s, by: source.locate(s.byPath) } : s));
}

parentPort?.on("message", (request: ConfigWorkerRequest) => {
  const { reply, transfer } = handle(request);
  parentPort!.postMessage(reply, transfer);
});
