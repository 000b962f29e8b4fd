// Keeps the cache serving the config file's latest valid content. A change is loaded, validated and checked as a
// whole on the config worker thread (config-loader.ts), so that the proxies are served while it parses; only a
// valid result is published. An invalid change is logged with every error and the last good config keeps being
// served — it never reaches a proxy and never stops the server.
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";
import { ConfigLoader, ConfigLoaderClosedError, ConfigLoadError, type ConfigLoaderOptions } from "./config-loader.js";
import { publish } from "./publish.js";
import { watchFile, type FileWatch } from "./watch.js";

export interface ConfigState {
  file: string;
  /** Hash of the file content that is being served. */
  version: string;
  loadedAt: Date;
  /** The last rejected content, while it is the file's current content. */
  lastError?: { version?: string; at: Date; message: string };
}

export class ConfigReloader {
  #state: ConfigState | undefined;
  #watch: FileWatch | undefined;
  /** The content last looked at, valid or not: the same content is not parsed twice. */
  #lastSeen: string | undefined;
  readonly #loader: ConfigLoader;
  /** One reload at a time; a change during a reload makes one more afterwards. */
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(
    private readonly file: string,
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
    options: ConfigLoaderOptions = {},
  ) {
    this.#loader = new ConfigLoader(options);
  }

  /** Loads and publishes the file; rejects with ConfigError if it is invalid (the daemon must not start on it). */
  async loadInitial(): Promise<ConfigState> {
    await this.#apply();
    return this.#state!;
  }

  /** Watches the file and republishes it on every change. */
  start(): void {
    this.#watch = watchFile(this.file, () => {
      this.log.debug?.(`config ${this.file} changed on disk, loading it`);
      void this.reload();
    });
  }

  /** Loads the file again if its content changed. Never rejects. */
  reload(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.#apply();
        } catch (err) {
          if (err instanceof ConfigLoaderClosedError) break; // stopping: nothing was rejected
          this.#rejected(err);
        }
      } while (this.#again && !this.#closed);
      this.#running = undefined;
    })();
    return this.#running;
  }

  get state(): ConfigState | undefined {
    return this.#state;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.close();
    await this.#loader.close();
    await this.#running;
  }

  async #apply(): Promise<void> {
    const result = await this.#loader.load(this.file, this.#lastSeen);
    this.#lastSeen = result.version;
    if (result.kind === "unchanged") {
      this.log.debug?.(`config ${this.file} version ${result.version} unchanged, nothing to publish`);
      return;
    }
    publish(this.cache, result.snapshots);
    this.#state = { file: this.file, version: result.version, loadedAt: new Date() };
    const groups = result.groups > 0 ? ` and ${result.groups} node group(s)` : "";
    this.log.info(`config ${this.file} version ${result.version} published: ${JSON.stringify(result.summary)}${groups}`);
  }

  #rejected(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const version = err instanceof ConfigLoadError ? err.version : undefined;
    if (version) this.#lastSeen = version;
    if (this.#state) this.#state.lastError = { version, at: new Date(), message };
    this.log.error(`config ${this.file} rejected, still serving version ${this.#state?.version}: ${message}`);
    if (!(err instanceof ConfigError)) this.log.error((err as Error).stack ?? "");
  }
}
