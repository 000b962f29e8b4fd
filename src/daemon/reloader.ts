// Keeps the cache serving the latest valid content of the config file and, when the daemon has one, the store
// (store-overlay.ts merges the two into one document). A change from either source is loaded, validated and
// checked as a whole on the config worker thread (config-loader.ts), so that the proxies are served while it
// parses; only a valid result is published. An invalid file change is logged with every error and the last good
// config keeps being served — it never reaches a proxy and never stops the server. An invalid store write is
// refused before anything is stored (write()). Loads and writes run one at a time, in order.
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import { ConfigError, formatLocation, ManagedByFileError, StoreConflictError, type SourceLocation } from "../errors.js";
import type { ObjectKind, Store, StoreOperation } from "../store/store.js";
import { applyChanges } from "./store-writes.js";
import { overlayKey, tooDeepIssue, type OverlayObject, type ShadowedObject } from "../merge/store-overlay.js";
import { defaultConfigLimits } from "../config/config-limits.js";
import { ConfigSource } from "../config/source.js";
import { readConfigText } from "../config/load.js";
import type { Logger } from "../log.js";
import { ConfigLoader, ConfigLoaderClosedError, ConfigLoadError, type ConfigLoaderOptions, type ConfigLoadResult } from "./config-loader.js";
import { publish, type ConfigSnapshots } from "../config/snapshots.js";
import { watchFile, type FileWatch } from "./file-watch.js";

export interface ConfigState {
  file: string;
  /** Hash of the file content that is being served. */
  version: string;
  loadedAt: Date;
  /** The last rejected content, while it is the file's current content. */
  lastError?: { version?: string; at: Date; message: string };
  /**
   * Store objects not served because the file defines their names or lists their endpoints (store-overlay.ts),
   * each with what is served instead and where: they stay in the store until deleted. Absent: none.
   */
  shadowed?: readonly ShadowedView[];
}

/** A store object left out of what is served, as /config and the log show it. */
export interface ShadowedView {
  kind: ObjectKind;
  name: string;
  /** `the config file defines cluster "web"`, `endpoint 1.2.3.4:80 is listed already`. */
  reason: string;
  /** Where what is served instead is: `xdsd.yaml:4:5 (clusters[1])`, or the store object's path. */
  definedAt: string;
}

/** What a store write came to: committed and published, or refused and why (nothing stored). */
export type StoreWriteResult = "committed" | "invalid" | "conflict" | "managed_by_file" | "failed";

/** What one look at the file came to: served, the same content as last time (valid or not), or refused. */
export type ReloadResult = "published" | "unchanged" | "rejected";

export interface ConfigReloaderOptions extends ConfigLoaderOptions {
  /** Told the result of every load, the initial one included (metrics count them). Must not throw. */
  onReload?(result: ReloadResult): void;
  /** Told the result of every store write (metrics count them). Must not throw. */
  onStoreWrite?(result: StoreWriteResult): void;
  /** The store whose objects are served with the file's (the write API's objects). */
  store?: Store;
  /**
   * Settle store writes without loading the whole config (store-writes.ts); default true. False sends every write
   * the whole way: the tests compare the two.
   */
  incrementalWrites?: boolean;
}

/** A store object as the reloader keeps it: what was merged, at which store revision it was written. */
interface HeldObject extends OverlayObject {
  readonly revision: number;
}

export class ConfigReloader {
  #state: ConfigState | undefined;
  #watch: FileWatch | undefined;
  /** The content last looked at, valid or not: the same content is not parsed twice. */
  #lastSeen: string | undefined;
  readonly #loader: ConfigLoader;
  readonly #onReload: ((result: ReloadResult) => void) | undefined;
  /** One reload at a time; a change during a reload makes one more afterwards. */
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #store: Store | undefined;
  /** The store's objects as last merged, by `kind\0name`, and the store revision they reflect. */
  #objects = new Map<string, HeldObject>();
  #storeRevision = 0;
  /** The names the file defines (clusters, listeners, node groups), and where: the store may not take them. */
  #fileNames = new Map<string, SourceLocation>();
  /** The content hash of the file being served (the part of the version before the store's). */
  #fileVersion: string | undefined;
  /** Loads and store writes, one at a time and in order. */
  #turn: Promise<unknown> = Promise.resolve();
  /** The snapshots published last, and the config worker's name for the state they came from (store-writes.ts). */
  #served: ConfigSnapshots | undefined;
  #servedState: number | undefined;

  constructor(
    private readonly file: string,
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
    private readonly options: ConfigReloaderOptions = {},
  ) {
    const { onReload, store, incrementalWrites: _incremental, ...loaderOptions } = options;
    this.#onReload = onReload;
    this.#store = store;
    this.#loader = new ConfigLoader(loaderOptions);
  }

  /** Loads and publishes the file; rejects with ConfigError if it is invalid (the daemon must not start on it). */
  async loadInitial(): Promise<ConfigState> {
    try {
      if (this.#store) {
        const { objects, revision } = await this.#store.list();
        this.#objects = new Map(objects.map((o) => [overlayKey(o.kind, o.name), o]));
        this.#storeRevision = revision;
      }
      await this.#exclusive(() => this.#apply());
    } catch (err) {
      if (!(err instanceof ConfigLoaderClosedError)) this.#onReload?.("rejected");
      throw err;
    }
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
          await this.#exclusive(() => this.#apply());
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

  /** The store object of this kind and name as it is served (undefined when there is none). */
  storeObject(kind: ObjectKind, name: string): (OverlayObject & { revision: number }) | undefined {
    return this.#objects.get(overlayKey(kind, name));
  }

  /** Where the file defines this name, if it does (then the file manages it, not the store). */
  fileDefines(kind: ObjectKind, name: string): SourceLocation | undefined {
    return this.#fileNames.get(overlayKey(kind, name));
  }

  /** The store's objects as they are served, and the store revision they reflect. */
  storeObjects(): { objects: HeldObject[]; revision: number } {
    return { objects: [...this.#objects.values()], revision: this.#storeRevision };
  }

  /**
   * A write to the store, applied only if the config it makes — the file and the store after the write — passes
   * every check `xdsd validate` makes: then it is committed (durably) and published, and this resolves with the
   * store revision and the version served. Rejects with ConfigError (invalid: nothing stored, nothing published),
   * StoreConflictError (an `ifRevision` does not hold: nothing stored), ManagedByFileError (the file defines that
   * name). Runs after any load or write under way. With `dryRun`, everything is checked the same way and nothing is
   * stored or published (resolves with the revision and version already served).
   */
  write(
    /**
     * The operations, or a function that makes them from the store objects held when the write's turn comes (a
     * cluster's deletion takes the endpoints registered at that moment: issue 18).
     */
    operations: readonly StoreOperation[] | (() => readonly StoreOperation[]),
    options: { dryRun?: boolean } = {},
  ): Promise<{ revision: number; version: string }> {
    const written = this.#exclusive(() => this.#write(typeof operations === "function" ? operations() : operations, options.dryRun === true));
    const told = options.dryRun ? undefined : this.options.onStoreWrite;
    if (told) {
      written.then(
        () => told("committed"),
        (err: unknown) =>
          told(
            err instanceof ManagedByFileError
              ? "managed_by_file"
              : err instanceof StoreConflictError
                ? "conflict"
                : err instanceof ConfigError
                  ? "invalid"
                  : "failed",
          ),
      );
    }
    return written;
  }

  async #write(operations: readonly StoreOperation[], dryRun: boolean): Promise<{ revision: number; version: string }> {
    const store = this.#store;
    if (!store) throw new Error("this reloader has no store");
    if (this.#closed) throw new ConfigLoaderClosedError();
    for (const o of operations) {
      const at = this.fileDefines(o.kind, o.name);
      // A store object the file shadows may still be deleted: that is how it stops being reported.
      if (at && !(o.op === "delete" && this.#objects.has(overlayKey(o.kind, o.name)))) {
        throw new ManagedByFileError(o.kind, o.name, withLine(at, this.options.limits));
      }
    }
    // Before anything recursive sees a value (the merge, the schema, the copy to the config worker).
    const maxDepth = this.options.limits?.maxDepth ?? defaultConfigLimits.maxDepth;
    const tooDeep = operations.flatMap((o) => (o.op === "put" ? (tooDeepIssue(o, maxDepth) ?? []) : []));
    if (tooDeep.length > 0) throw new ConfigError(tooDeep);
    const proposed = new Map(this.#objects);
    for (const o of operations) {
      const key = overlayKey(o.kind, o.name);
      const current = proposed.get(key)?.revision ?? 0;
      if (o.ifRevision !== undefined && current !== o.ifRevision) throw new StoreConflictError(o.kind, o.name, o.ifRevision, current);
      if (o.op === "put") proposed.set(key, { kind: o.kind, name: o.name, value: o.value, revision: Number.NaN });
      else proposed.delete(key);
    }
    const settled = await this.#settle(operations);
    const written = operations.filter((o) => o.op === "put").map((o) => overlayKey(o.kind, o.name));
    if (dryRun) {
      // Checked as the write would be, the whole way unless settled; nothing stored, nothing published.
      if (!settled) await this.#loader.load(this.file, { overlay: this.#overlay(proposed, this.#storeRevision + 1, written), served: this.#servedState });
      return { revision: this.#storeRevision, version: this.#state?.version ?? "" };
    }
    if (settled) {
      const { revision } = await store.transaction(operations);
      this.#committed(proposed, revision);
      const version = `${this.#fileVersion}+r${revision}`;
      this.#servedState = settled.state;
      this.#lastSeen = version;
      this.#state = { file: this.file, version, loadedAt: new Date(), shadowed: this.#shadowedNow(settled.shadowed) };
      if (settled.snapshots === this.#served) {
        this.log.debug?.(`config ${this.file} version ${version}: ${operations.length} store object(s) written, nothing served changed`);
      } else {
        this.#served = settled.snapshots;
        publish(this.cache, settled.snapshots);
        this.log.info(`config ${this.file} version ${version} published: ${operations.length} store object(s) written`);
      }
      return { revision, version };
    }
    const result = await this.#loader.load(this.file, { overlay: this.#overlay(proposed, this.#storeRevision + 1, written), served: this.#servedState });
    if (result.kind !== "loaded") throw new Error("a load of a proposed store write came back unchanged");
    const { revision } = await store.transaction(operations);
    this.#committed(proposed, revision);
    this.#lastSeen = result.version;
    this.#published(result);
    return { revision, version: result.version };
  }

  /**
   * A store write settled without loading the whole config (store-writes.ts): the snapshots to serve after it (the
   * served ones when nothing served changes) and the worker's state that names them; undefined when the write must
   * take the whole way.
   */
  async #settle(
    operations: readonly StoreOperation[],
  ): Promise<{ snapshots: ConfigSnapshots; state: number; shadowed: readonly ShadowedObject[] } | undefined> {
    const served = this.#served;
    if (this.options.incrementalWrites === false || this.#servedState === undefined || !served) return undefined;
    let settled: Awaited<ReturnType<ConfigLoader["storeWrite"]>>;
    try {
      settled = await this.#loader.storeWrite(this.file, this.#servedState, operations);
    } catch (err) {
      if (err instanceof ConfigLoaderClosedError) throw err;
      return undefined; // the worker failed: the whole way will tell
    }
    if (!settled) return undefined;
    // A renewal of a registration changes the store object, not what is served: nothing to publish.
    if (settled.changes.length === 0) return { snapshots: served, state: settled.state, shadowed: settled.shadowed };
    let snapshots: ConfigSnapshots;
    try {
      snapshots = applyChanges(served, settled.changes);
    } catch {
      return undefined;
    }
    // The worker checked the whole config; this is the cache's own check, made before anything is committed.
    const before = new Set([served.defaults, ...served.nodes.values()]);
    for (const s of [snapshots.defaults, ...snapshots.nodes.values()]) if (!before.has(s) && s.missingReferences().length > 0) return undefined;
    return { snapshots, state: settled.state, shadowed: settled.shadowed };
  }

  /** A store transaction of `proposed` committed at `revision`: it is what is held now. */
  #committed(proposed: Map<string, HeldObject>, revision: number): void {
    for (const [key, o] of proposed) if (Number.isNaN(o.revision)) proposed.set(key, { ...o, revision });
    this.#objects = proposed;
    this.#storeRevision = revision;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.close();
    await this.#loader.close();
    await this.#running;
  }

  async #apply(): Promise<void> {
    const result = await this.#loader.load(this.file, {
      knownVersion: this.#lastSeen,
      overlay: this.#store && this.#overlay(this.#objects, this.#storeRevision),
      served: this.#servedState,
    });
    this.#lastSeen = result.version;
    if (result.kind === "unchanged") {
      this.#onReload?.("unchanged");
      this.log.debug?.(`config ${this.file} version ${result.version} unchanged, nothing to publish`);
      return;
    }
    this.#published(result);
    this.#onReload?.("published");
  }

  #published(result: Extract<ConfigLoadResult, { kind: "loaded" }>): void {
    publish(this.cache, result.snapshots);
    this.#served = result.snapshots;
    this.#servedState = result.state;
    this.#fileVersion = result.version.split("+")[0];
    this.#fileNames = new Map(result.fileNames.map((n) => [overlayKey(n.kind, n.name), n.location]));
    this.#state = { file: this.file, version: result.version, loadedAt: new Date(), shadowed: this.#shadowedNow(result.shadowed) };
    const groups = result.groups > 0 ? ` and ${result.groups} node group(s)` : "";
    this.log.info(`config ${this.file} version ${result.version} published: ${JSON.stringify(result.summary)}${groups}`);
  }

  #overlay(
    objects: ReadonlyMap<string, OverlayObject>,
    revision: number,
    written?: readonly string[],
  ): { objects: OverlayObject[]; version: string; written?: readonly string[] } {
    return { objects: [...objects.values()].map(({ kind, name, value }) => ({ kind, name, value })), version: `r${revision}`, written };
  }

  /**
   * The store objects left out of what is served now, as shown: each newly left out is logged once as a warning
   * (with the file's line of what is served instead: the config worker locates it), and each served again once as
   * info.
   */
  #shadowedNow(shadowed: readonly ShadowedObject[]): ShadowedView[] {
    const key = (s: { kind: string; name: string; reason: string }) => `${s.kind}\u0000${s.name}\u0000${s.reason}`;
    const before = new Map((this.#state?.shadowed ?? []).map((s) => [key(s), s]));
    const now = shadowed.map((s): ShadowedView => {
      const kept = before.get(key(s));
      if (kept) return kept;
      const view = { kind: s.kind, name: s.name, reason: s.reason, definedAt: formatLocation(s.by) };
      this.log.warn(
        `store ${s.kind} "${s.name}" is not served: ${s.reason} at ${view.definedAt}. It stays in the store (GET /config lists it) until it is deleted through the API, or the file lets go of it`,
      );
      return view;
    });
    const still = new Set(now.map(key));
    for (const [k, s] of before) if (!still.has(k)) this.log.info(`store ${s.kind} "${s.name}" is no longer shadowed`);
    return now;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn);
    this.#turn = run.catch(() => {});
    return run;
  }

  #rejected(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const version = err instanceof ConfigLoadError ? err.version : undefined;
    if (version) this.#lastSeen = version;
    if (this.#state) this.#state.lastError = { version, at: new Date(), message };
    this.#onReload?.("rejected");
    this.log.error(`config ${this.file} rejected, still serving version ${this.#state?.version}: ${message}`);
    if (!(err instanceof ConfigError)) this.log.error((err as Error).stack ?? "");
  }
}

/**
 * The location with its line: the daemon's loads read the file without positions (unlocated-source.ts), so for
 * the error that names where the file defines a name, the file is read once more with them.
 */
function withLine(at: SourceLocation, limits: ConfigReloaderOptions["limits"]): SourceLocation {
  const m = at.line === undefined && at.path ? /^(\w+)\[(\d+)\]/.exec(at.path) : null;
  if (!m) return at;
  try {
    return new ConfigSource(readConfigText(at.file, limits?.maxBytes), at.file, limits).locate([m[1], Number(m[2])]);
  } catch {
    return at;
  }
}
