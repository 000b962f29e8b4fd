// Loads config files on the config worker thread (config-worker.ts), one at a time, for the daemon. The worker is
// started on first use and started again after it dies: a file that exhausts the worker's heap is refused like any
// invalid config, and the next load gets a fresh worker.
import { Worker } from "node:worker_threads";
import { ConfigError, type ConfigIssue } from "../errors.js";
import type { ConfigLimits } from "./config-limits.js";
import type { ConfigWorkerReply, ConfigWorkerRequest } from "./config-worker.js";
import { fromTransferable } from "./transferable-snapshots.js";
import type { ConfigSnapshots } from "./publish.js";

export type ConfigLoadResult =
  | { kind: "unchanged"; version: string }
  | { kind: "loaded"; version: string; snapshots: ConfigSnapshots; summary: Record<string, number>; groups: number };

export interface ConfigLoaderOptions {
  limits?: Partial<ConfigLimits>;
  /** Heap limit of the worker thread, in MB: what parsing one config may use (default 4096). */
  workerHeapMb?: number;
}

const workerUrl = new URL("./config-worker.js", import.meta.url);

export class ConfigLoader {
  #worker: Worker | undefined;
  #nextId = 1;
  #pending: { id: number; resolve: (r: ConfigWorkerReply) => void; reject: (e: Error) => void } | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ConfigLoaderOptions = {}) {}

  /**
   * Loads `file`: resolves with its snapshots, or "unchanged" when its content hash is `knownVersion`; rejects with
   * ConfigError (with the content's version in `version`) when it is invalid or could not be parsed.
   */
  load(file: string, knownVersion?: string): Promise<ConfigLoadResult> {
    const run = this.#queue.then(() => this.#load(file, knownVersion));
    this.#queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  async #load(file: string, knownVersion: string | undefined): Promise<ConfigLoadResult> {
    const id = this.#nextId++;
    const reply = await new Promise<ConfigWorkerReply>((resolve, reject) => {
      this.#pending = { id, resolve, reject };
      const request: ConfigWorkerRequest = { id, file, limits: this.options.limits ?? {}, knownVersion };
      this.#ensureWorker().postMessage(request);
    }).catch((err: Error) => {
      throw new ConfigLoadError([{ location: { file }, message: err.message }]);
    });
    switch (reply.kind) {
      case "unchanged":
        return reply;
      case "loaded":
        return { kind: "loaded", version: reply.version, snapshots: fromTransferable(reply.snapshots), summary: reply.summary, groups: reply.groups };
      case "invalid":
        throw new ConfigLoadError(reply.issues, reply.version);
      case "failed":
        throw new ConfigLoadError([{ location: { file }, message: `the config could not be loaded: ${reply.message}` }], reply.version);
    }
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
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(new Error(why));
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
