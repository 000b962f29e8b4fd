// Loads config files on the config worker thread (config-worker.ts), one at a time, for the daemon. The worker is
// started on first use and started again after it dies: a file that exhausts the worker's heap is refused like any
// invalid config, and the next load gets a fresh worker.
import { Worker } from "node:worker_threads";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { ConfigLimits } from "./config-limits.js";
import type { ConfigWorkerReply, ConfigWorkerRequest, LoadRequest } from "./config-worker.js";
import type { EncodedResource } from "../resource/encoded-resource.js";
import type { ClusterEndpointsChange } from "./endpoint-writes.js";
import { fromTransferable, resourcesFromTransferable } from "./transferable-snapshots.js";
import type { ConfigSnapshots, FileName } from "./publish.js";

export type ConfigLoadResult =
  | { kind: "unchanged"; version: string }
  | { kind: "loaded"; version: string; snapshots: ConfigSnapshots; summary: Record<string, number>; groups: number; fileNames: FileName[] };

export interface ConfigLoaderOptions {
  limits?: Partial<ConfigLimits>;
  /** Heap limit of the worker thread, in MB: what parsing one config may use (default 4096). */
  workerHeapMb?: number;
  /** Longest a load may take before the worker is stopped and the load refused (default 120 s). */
  loadTimeoutMs?: number;
}

const defaultLoadTimeoutMs = 120_000;

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
  load(file: string, knownVersion?: string, overlay?: LoadRequest["overlay"]): Promise<ConfigLoadResult> {
    return this.#queued(() => this.#load(file, knownVersion, overlay));
  }

  /**
   * The resources of clusters whose store endpoints changed (endpoint-writes.ts), from the document of the file
   * content `fileVersion` as the worker last loaded it; undefined when that path cannot settle the write and the
   * whole config must be loaded (a new worker, another file content, a cluster not found, any issue).
   */
  endpoints(file: string, fileVersion: string, changes: readonly ClusterEndpointsChange[]): Promise<EncodedResource[] | undefined> {
    return this.#queued(async () => {
      const reply = await this.#request(file, (id) => ({ id, kind: "endpoints", file, fileVersion, changes }));
      if (reply.kind === "resources") return resourcesFromTransferable(reply.resources);
      if (reply.kind === "full") return undefined;
      throw new Error(`the config worker could not update the endpoints: ${reply.kind === "failed" ? reply.message : reply.kind}`);
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

  async #load(file: string, knownVersion: string | undefined, overlay: LoadRequest["overlay"]): Promise<ConfigLoadResult> {
    const reply = await this.#request(file, (id) => ({ id, file, limits: this.options.limits ?? {}, knownVersion, overlay }));
    switch (reply.kind) {
      case "unchanged":
        return reply;
      case "loaded":
        return {
          kind: "loaded",
          version: reply.version,
          snapshots: fromTransferable(reply.snapshots),
          summary: reply.summary,
          groups: reply.groups,
          fileNames: reply.fileNames,
        };
      case "invalid":
        throw new ConfigLoadError(reply.issues, reply.version);
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
    const worker = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: this.options.workerHeapMb ?? 4096 } });
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
          ? `loading the config needed more memory than the config worker's limit of ${this.options.workerHeapMb ?? 4096} MB; it was refused`
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
  ) {
    super(issues);
  }
}
