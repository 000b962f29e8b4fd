// Loads config files on the config worker thread (config-worker.ts), one at a time, for the daemon. The worker is
// started on first use and started again after it dies: a file that exhausts the worker's heap is refused like any
// invalid config, and the next load gets a fresh worker.
import { Worker } from "node:worker_threads";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { ConfigLimits } from "../config/config-limits.js";
import type { ConfigWorkerReply, ConfigWorkerRequest, LoadRequest } from "./config-worker.js";
import type { StoreOperation } from "../store/store.js";
import { applyChanges, type GroupChanges } from "./store-writes.js";
import { changesFromTransferable, fromTransferable } from "./transferable-snapshots.js";
import type { ConfigSnapshots } from "../config/snapshots.js";
import type { FileName } from "../merge/merged-load.js";
import type { ShadowedObject } from "../merge/store-overlay.js";

export type ConfigLoadResult =
  | { kind: "unchanged"; version: string }
  | {
      kind: "loaded";
      version: string;
      snapshots: ConfigSnapshots;
      summary: Record<string, number>;
      groups: number;
      fileNames: FileName[];
      /** The store objects left out of the merge (store-overlay.ts). */
      shadowed: readonly ShadowedObject[];
      /** Names this result as the worker holds it: say it in `served` while it is what is served. */
      state: number;
      /** The secrets' files it read, to watch (config/secrets.ts). */
      files: readonly string[];
      /** What is served all the same but wants attention (an expired certificate…). */
      warnings: readonly ConfigIssue[];
    };

export interface LoadOptions {
  /** The content hash last loaded: if the file's is still the same, the load resolves "unchanged". */
  knownVersion?: string;
  /** The store's objects to merge into the file's document, and a name for their state. */
  overlay?: LoadRequest["overlay"];
  /**
   * The state served (a `state` this loader resolved with) and its snapshots: a store write is settled from it, and
   * a load answers with what changed from it (only that crosses from the worker), applied here to `snapshots`.
   */
  served?: { state: number; snapshots: ConfigSnapshots };
}

export interface ConfigLoaderOptions {
  limits?: Partial<ConfigLimits>;
  /** Heap limit of the worker thread, in MB: what parsing one config may use (default defaultWorkerHeapMb). */
  workerHeapMb?: number;
  /** Longest a load may take before the worker is stopped and the load refused (default 120 s). */
  loadTimeoutMs?: number;
}

const defaultLoadTimeoutMs = 120_000;

/** The worker's heap limit, in MB, unless `workerHeapMb` says otherwise (docs/limits.md). */
export const defaultWorkerHeapMb = 4096;

/** The loader was closed (the daemon is stopping): not a problem of the config. */
export class ConfigLoaderClosedError extends Error {
  constructor() {
    super("the config loader is closed");
  }
}

const workerUrl = new URL("./config-worker.js", import.meta.url);

export class ConfigLoader {
  #worker: Worker | undefined;
  #nextId = 1;
  #pending: { id: number; worker: Worker; resolve: (r: ConfigWorkerReply) => void; reject: (e: Error) => void } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(private readonly options: ConfigLoaderOptions = {}) {}

  /**
   * Loads `file`: resolves with its snapshots, or "unchanged" when its content hash is `knownVersion`; rejects with
   * ConfigError (with the content's version in `version`) when it is invalid or could not be parsed.
   */
  load(file: string, options: LoadOptions = {}): Promise<ConfigLoadResult> {
    return this.#queued(() => this.#load(file, options));
  }

  /**
   * A store write settled from the state `served` (store-writes.ts): what changes in the served snapshots, and the
   * state that names the result. Undefined when that path cannot settle it and the whole config must be loaded (a
   * new worker, a state the worker does not hold, any issue at all).
   */
  storeWrite(
    file: string,
    served: number,
    operations: readonly StoreOperation[],
  ): Promise<{ state: number; changes: GroupChanges[]; shadowed: readonly ShadowedObject[] } | undefined> {
    return this.#queued(async () => {
      let state = 0;
      const reply = await this.#request(file, (id) => ({ id: (state = id), kind: "store-write", file, served, operations }));
      if (reply.kind === "changes") return { state, changes: changesFromTransferable(reply.changes), shadowed: reply.shadowed };
      if (reply.kind === "full") return undefined;
      throw new Error(`the config worker could not settle the store write: ${reply.kind === "failed" ? reply.message : reply.kind}`);
    });
  }

  #queued<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops the worker; a load under way or asked for later is refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  async #load(file: string, { knownVersion, overlay, served }: LoadOptions): Promise<ConfigLoadResult> {
    const reply = await this.#request(file, (id) => ({ id, file, limits: this.options.limits ?? {}, knownVersion, overlay, served: served?.state }));
    switch (reply.kind) {
      case "unchanged":
        return reply;
      case "loaded":
        return {
          kind: "loaded",
          version: reply.version,
          snapshots:
            "whole" in reply.snapshots
              ? fromTransferable(reply.snapshots.whole)
              : applyChanges(served!.snapshots, changesFromTransferable(reply.snapshots.changes)),
          summary: reply.summary,
          groups: reply.groups,
          fileNames: reply.fileNames,
          shadowed: reply.shadowed,
          state: reply.id,
          files: reply.files,
          warnings: reply.warnings,
        };
      case "invalid":
        throw new ConfigLoadError(reply.issues, reply.version, reply.files);
      case "failed":
        throw new ConfigLoadError([{ location: { file }, message: `the config could not be loaded: ${reply.message}` }], reply.version);
      default:
        throw new Error(`the config worker answered a load with ${reply.kind}`);
    }
  }

  /** Sends one request to the worker and waits for its reply, within the load timeout. */
  async #request(file: string, make: (id: number) => ConfigWorkerRequest): Promise<ConfigWorkerReply> {
    if (this.#closed) throw new ConfigLoaderClosedError();
    const id = this.#nextId++;
    const timeoutMs = this.options.loadTimeoutMs ?? defaultLoadTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const reply = await new Promise<ConfigWorkerReply>((resolve, reject) => {
      const worker = this.#ensureWorker();
      this.#pending = { id, worker, resolve, reject };
      // A load that never ends (a parser pathology no limit foresaw) must not hold every later reload: the worker
      // is stopped, the load refused, and the next load gets a new worker.
      timer = setTimeout(() => {
        if (this.#pending?.id !== id) return;
        this.#pending = undefined;
        if (this.#worker === worker) this.#worker = undefined;
        void worker.terminate();
        reject(new Error(`loading the config took longer than ${timeoutMs / 1000} s; it was refused and the config worker restarted`));
      }, timeoutMs);
      worker.postMessage(make(id));
    })
      .catch((err: Error) => {
        if (this.#closed) throw new ConfigLoaderClosedError();
        throw new ConfigLoadError([{ location: { file }, message: err.message }]);
      })
      .finally(() => clearTimeout(timer));
    return reply;
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    // A young generation of 96 MB (V8's default is a sixth of that): a store write allocates about 0.5 MB that dies
    // at once, and with the default, scavenges ran every few writes and took half the worker's CPU per write (2.5
    // → 1.4 ms, 500 clusters). The price is resident memory: the young generation fills to its size between
    // scavenges (the worker's heap had 90 MB committed in bench/api-write.ts).
    const worker = new Worker(workerUrl, {
      resourceLimits: { maxOldGenerationSizeMb: this.options.workerHeapMb ?? defaultWorkerHeapMb, maxYoungGenerationSizeMb: 96 },
    });
    worker.unref();
    worker.on("message", (reply: ConfigWorkerReply) => {
      if (this.#pending?.id !== reply.id) return;
      const { resolve } = this.#pending;
      this.#pending = undefined;
      resolve(reply);
    });
    const lost = (why: string) => {
      if (this.#worker === worker) this.#worker = undefined;
      // Only the request sent to this worker: a newer worker's request is not this one's to refuse.
      const pending = this.#pending;
      if (pending?.worker !== worker) return;
      this.#pending = undefined;
      pending.reject(new Error(why));
    };
    worker.on("error", (err: NodeJS.ErrnoException) =>
      lost(
        err.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `loading the config needed more memory than the config worker's limit of ${this.options.workerHeapMb ?? defaultWorkerHeapMb} MB; it was refused`
          : `the config worker failed: ${err.message}`,
      ),
    );
    worker.on("exit", (code) => lost(`the config worker exited (code ${code}) while loading the config`));
    this.#worker = worker;
    return worker;
  }
}

/** A ConfigError that also says which content (hash) was refused, so the same content is not reloaded again. */
export class ConfigLoadError extends ConfigError {
  constructor(
    issues: readonly ConfigIssue[],
    readonly version?: string,
    /** The secrets' files the refused load read: still watched, so that fixing one brings the config back. */
    readonly files: readonly string[] = [],
  ) {
    super(issues);
  }
}
