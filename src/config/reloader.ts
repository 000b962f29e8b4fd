// Keeps the cache serving the config file's latest valid content. A change is loaded, validated and checked as a
// whole; only then is it published. An invalid change is logged with every error and the last good config keeps
// being served — it never reaches a proxy and never stops the server.
import { readFileSync } from "node:fs";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import { contentHash } from "../resource/encoded-resource.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";
import { parseConfig } from "./index.js";
import { publish, snapshotsOf } from "./publish.js";
import { watchFile, type FileWatch } from "./watch.js";

export interface ConfigState {
  file: string;
  /** Hash of the file content that is being served. */
  version: string;
  loadedAt: Date;
  /** The last rejected content, while it is the file's current content. */
  lastError?: { version: string; at: Date; message: string };
}

export class ConfigReloader {
  #state: ConfigState | undefined;
  #watch: FileWatch | undefined;
  #lastSeen: string | undefined;

  constructor(
    private readonly file: string,
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
  ) {}

  /** Loads and publishes the file; throws ConfigError if it is invalid (the daemon must not start on it). */
  loadInitial(): ConfigState {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      throw new ConfigError([{ location: { file: this.file }, message: `cannot read the config file: ${(err as Error).message}` }]);
    }
    this.#apply(text);
    return this.#state!;
  }

  /** Watches the file and republishes it on every change. */
  start(): void {
    this.#watch = watchFile(this.file, () => this.reload());
  }

  /** Loads the file again if its content changed. Never throws. */
  reload(): void {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      this.log.error(`config ${this.file}: cannot read: ${(err as Error).message}; still serving version ${this.#state?.version}`);
      return;
    }
    const version = contentHash(text);
    if (version === this.#lastSeen) return;
    try {
      this.#apply(text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.#state) this.#state.lastError = { version, at: new Date(), message };
      this.log.error(`config ${this.file} rejected, still serving version ${this.#state?.version}: ${message}`);
      if (!(err instanceof ConfigError)) this.log.error((err as Error).stack ?? "");
    }
  }

  get state(): ConfigState | undefined {
    return this.#state;
  }

  close(): void {
    this.#watch?.close();
  }

  #apply(text: string): void {
    const version = contentHash(text);
    this.#lastSeen = version;
    const config = parseConfig(text, this.file);
    const snapshots = snapshotsOf(config);
    publish(this.cache, snapshots);
    this.#state = { file: this.file, version, loadedAt: new Date() };
    const groups = snapshots.nodes.size > 0 ? ` and ${snapshots.nodes.size} node group(s)` : "";
    this.log.info(`config ${this.file} version ${version} published: ${JSON.stringify(snapshots.defaults.summary())}${groups}`);
  }
}
