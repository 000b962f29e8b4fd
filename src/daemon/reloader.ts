// Keeps the cache serving the latest valid content of the config file and, when the daemon has one, the store
// (store-overlay.ts merges the two into one document). A change from either source is loaded, validated and
// checked as a whole on the config worker thread (config-loader.ts), so that the proxies are served while it
// parses; only a valid result is published. An invalid file change is logged with every error and the last good
// config keeps being served — it never reaches a proxy and never stops the server. An invalid store write is
// refused before anything is stored (write()). Loads and writes run one at a time, in order.
//
// The store is the one source of truth for the API's objects (issue 17). The reloader lists it once, then follows
// its watch: every committed change — this daemon's writes and another process's alike — reaches what is served
// that one way, in revision order, into the view of the store it merges (#objects at #storeRevision, changed by
// nothing else). A write is validated against the view at revision R and committed only if the store is still at
// R (`ifStoreRevision`); its answer waits until the watch has brought its revision back and the result is
// published. When another writer got there first, the view is brought up to date and the write validated again,
// at most maxWriteAttempts times. An invalid combination that arrives through the watch (a file edit with the
// store's state, say) is logged and the last good config stays served, as for an invalid file.
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import {
  ConfigError,
  formatLocation,
  ManagedByFileError,
  StoreCompactedError,
  StoreConflictError,
  StoreRevisionConflictError,
  type SourceLocation,
} from "../errors.js";
import type { ObjectKind, Store, StoreChange, StoreOperation, StoreWatchError } from "../store/store.js";
import { applyChanges } from "./store-writes.js";
import { overlayKey, tooDeepIssue, type OverlayObject, type ShadowedObject } from "../merge/store-overlay.js";
import { defaultConfigLimits } from "../config/config-limits.js";
import { ConfigSource } from "../config/source.js";
import { readConfigText } from "../config/load.js";
import type { Logger } from "../log.js";
import { ConfigLoader, ConfigLoaderClosedError, ConfigLoadError, type ConfigLoaderOptions, type ConfigLoadResult, type LoadOptions } from "./config-loader.js";
import { publish, type ConfigSnapshots } from "../config/snapshots.js";
import { watchFile, type FileWatch } from "./file-watch.js";
import type { PublishSource } from "./change-entry-json.js";

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
  /**
   * Told of every version published, after the cache has it, and where it came from (the dashboard's change
   * history); `by`: who made an API write (the admin token's name), when known. Must not throw.
   */
  onPublished?(version: string, source: PublishSource, by?: string): void;
  /** The store whose objects are served with the file's (the write API's objects). */
  store?: Store;
  /**
   * Settle store writes without loading the whole config (store-writes.ts); default true. False sends every write
   * the whole way: the tests compare the two.
   */
  incrementalWrites?: boolean;
}

/**
 * How many times a write is validated and tried against the store before it is refused for the store changing
 * under it each time (another writer committing first: issue 17); docs/limits.md.
 */
export const maxWriteAttempts = 5;

/**
 * How long the watch may take to bring back a revision the reloader waits for (its own write's, or the one a
 * conflict reported) before the store is listed again instead: a watch that stalls must not hold every write.
 */
const watchCatchUpMs = 5_000;

/** A store object as the reloader keeps it: what was merged, at which store revision it was written. */
interface HeldObject extends OverlayObject {
  readonly revision: number;
}

/** A store write settled from what is served (store-writes.ts). */
interface Settled {
  readonly snapshots: ConfigSnapshots;
  /** The config worker's name for the state that made them. */
  readonly state: number;
  readonly shadowed: readonly ShadowedObject[];
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
  /**
   * The view of the store: its objects by `kind\0name` at #storeRevision, fed only by the listing and the watch.
   * What is served may be older (#servedRevision) when a change that arrived was refused.
   */
  #objects = new Map<string, HeldObject>();
  #storeRevision = 0;
  #servedRevision = 0;
  /** Changes the watch delivered, not yet applied to the view; the revision of the last one delivered. */
  #arrived: StoreChange[] = [];
  #delivered = 0;
  #waiters: { revision: number; resolve: () => void }[] = [];
  #catchUpQueued = false;
  #cancelWatch: (() => void) | undefined;
  #watchToken: object | undefined;
  /** The names the file defines (clusters, listeners, node groups), and where: the store may not take them. */
  #fileNames = new Map<string, SourceLocation>();
  /** The content hash of the file being served (the part of the version before the store's). */
  #fileVersion: string | undefined;
  /** Loads and store writes, one at a time and in order. */
  #turn: Promise<unknown> = Promise.resolve();
  /** The snapshots published last, and the config worker's name for the state they came from (store-writes.ts). */
  #served: ConfigSnapshots | undefined;
  #servedState: number | undefined;
  /** Watches of the secrets' files the config reads (config/secrets.ts): a rotated certificate is a reload. */
  #fileWatches = new Map<string, FileWatch>();
  /** The secrets' files of the last load, and whether to watch them (once start() is called). */
  #files: readonly string[] = [];
  #watching = false;

  constructor(
    private readonly file: string,
    private readonly cache: SnapshotCache,
    private readonly log: Logger,
    private readonly options: ConfigReloaderOptions = {},
  ) {
    const { onReload, onPublished: _onPublished, store, incrementalWrites: _incremental, ...loaderOptions } = options;
    this.#onReload = onReload;
    this.#store = store;
    this.#loader = new ConfigLoader(loaderOptions);
  }

  /** Loads and publishes the file; rejects with ConfigError if it is invalid (the daemon must not start on it). */
  async loadInitial(): Promise<ConfigState> {
    try {
      if (this.#store) await this.#list();
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
    this.#watching = true;
    this.#watchFiles(this.#files, true);
  }

  /**
   * Watches the secrets' files a load read. `replace`: those a published load read are all there is to watch; a
   * refused load's are watched besides (fixing one of them must bring the config back).
   */
  #watchFiles(files: readonly string[], replace: boolean): void {
    this.#files = replace ? files : [...new Set([...this.#files, ...files])];
    if (!this.#watching || this.#closed) return;
    const wanted = new Set(this.#files);
    for (const [path, watch] of this.#fileWatches) {
      if (wanted.has(path)) continue;
      watch.close();
      this.#fileWatches.delete(path);
    }
    for (const path of wanted) {
      if (this.#fileWatches.has(path)) continue;
      this.#fileWatches.set(
        path,
        watchFile(path, () => {
          this.log.debug?.(`${path}, a secret's file of config ${this.file}, changed on disk: loading the config`);
          void this.reload();
        }),
      );
    }
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

  /** The store revision the view reflects: every change up to it applied (/healthz, /metrics). */
  get storeRevision(): number {
    return this.#storeRevision;
  }

  /** The store's objects as the view holds them, and the store revision they reflect. */
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
    /** `by`: who writes (the admin token's name), for the change history; never the token. */
    options: { dryRun?: boolean; by?: string } = {},
  ): Promise<{ revision: number; version: string }> {
    // A function is called at each try: a write validated again after a conflict is made from the state then.
    const written = this.#exclusive(() => this.#write(typeof operations === "function" ? operations : () => operations, options.dryRun === true, options.by));
    const told = options.dryRun ? undefined : this.options.onStoreWrite;
    if (told) {
      written.then(
        () => told("committed"),
        (err: unknown) =>
          told(
            err instanceof ManagedByFileError
              ? "managed_by_file"
              : err instanceof StoreConflictError || err instanceof StoreRevisionConflictError
                ? "conflict"
                : err instanceof ConfigError
                  ? "invalid"
                  : "failed",
          ),
      );
    }
    return written;
  }

  async #write(make: () => readonly StoreOperation[], dryRun: boolean, by: string | undefined): Promise<{ revision: number; version: string }> {
    const store = this.#store;
    if (!store) throw new Error("this reloader has no store");
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new ConfigLoaderClosedError();
      // Brought up to date with what the watch delivered: the write is validated against the newest state known.
      await this.#applyArrived();
      const base = this.#storeRevision;
      const operations = make();
      const proposal = this.#validate(operations);
      const settled = await this.#settle(operations);
      const written = operations.filter((o) => o.op === "put").map((o) => overlayKey(o.kind, o.name));
      const whole = settled
        ? undefined
        : await this.#loader.load(this.file, { overlay: this.#overlay(proposal, `r${base}-proposed`, written), served: this.#servedNow() });
      if (whole && whole.kind !== "loaded") throw new Error("a load of a proposed store write came back unchanged");
      // Checked as the write would be; nothing stored, nothing published.
      if (dryRun) return { revision: base, version: this.#state?.version ?? "" };
      let revision: number;
      try {
        // Per-object conditions (If-Match) are the store's to check, with the whole store's: still at `base`.
        ({ revision } = await store.transaction(operations, { ifStoreRevision: base }));
      } catch (err) {
        if (!(err instanceof StoreRevisionConflictError) || attempt >= maxWriteAttempts) throw err;
        this.log.debug?.(`store write validated at revision ${base}: the store moved to ${err.storeRevision} first, validating again`);
        await this.#caughtUp(err.storeRevision);
        continue;
      }
      await this.#caughtUp(revision);
      await this.#applyArrived({ base, revision, settled, whole, count: operations.length, by });
      return { revision, version: this.#state?.version ?? "" };
    }
  }

  /**
   * Refuses what can be refused before any load: a name the file defines, nesting past the limit, and a condition
   * that the view at its revision shows cannot hold (an object changed at m ≠ n when n ≤ the view's revision is
   * never at n again: revisions only rise; RFC 9110 §13.2.2 checks preconditions before content). The store checks
   * every condition again when it commits. Returns the view's objects as the write would leave them.
   */
  #validate(operations: readonly StoreOperation[]): Map<string, HeldObject> {
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
    const proposal = new Map(this.#objects);
    for (const o of operations) {
      const key = overlayKey(o.kind, o.name);
      const current = this.#objects.get(key)?.revision ?? 0;
      if (o.ifRevision !== undefined && o.ifRevision <= this.#storeRevision && current !== o.ifRevision)
        throw new StoreConflictError(o.kind, o.name, o.ifRevision, current);
      if (o.op === "put") proposal.set(key, { kind: o.kind, name: o.name, value: o.value, revision: Number.NaN });
      else proposal.delete(key);
    }
    return proposal;
  }

  /**
   * A store write settled without loading the whole config (store-writes.ts): the snapshots to serve after it (the
   * served ones when nothing served changes) and the worker's state that names them; undefined when the write must
   * take the whole way (among others: what is served is not the view, after a change that was refused).
   */
  async #settle(operations: readonly StoreOperation[], from = this.#storeRevision): Promise<Settled | undefined> {
    const served = this.#served;
    if (this.options.incrementalWrites === false || this.#servedState === undefined || !served || this.#servedRevision !== from) return undefined;
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

  /** Lists the store into the view (at start, and when the watch cannot go on), and follows its watch from there. */
  async #list(): Promise<void> {
    const store = this.#store!;
    this.#cancelWatch?.();
    this.#cancelWatch = undefined;
    this.#watchToken = undefined;
    const { objects, revision } = await store.list();
    this.#objects = new Map(objects.map((o) => [overlayKey(o.kind, o.name), o]));
    this.#storeRevision = revision;
    this.#arrived = [];
    this.#delivered = revision;
    this.#wake();
    if (this.#closed) return;
    // This watch's own token: SQLite replays before `watch` returns, so its cancel function is not known yet.
    const current = {};
    this.#watchToken = current;
    const cancel = store.watch(
      revision,
      (change) => {
        if (this.#watchToken !== current) return; // a watch replaced by a newer listing
        this.#arrived.push(change);
        this.#delivered = change.revision;
        // The changes of one write come in one synchronous run: the view takes them whole, a microtask later.
        if (!this.#catchUpQueued) {
          this.#catchUpQueued = true;
          queueMicrotask(() => {
            this.#catchUpQueued = false;
            this.#wake();
            void this.#exclusive(() => this.#applyArrived()).catch((err) => this.#rejected(err));
          });
        }
      },
      (error: StoreWatchError) => {
        if (this.#watchToken !== current || this.#closed) return;
        this.#cancelWatch = undefined;
        this.#watchToken = undefined;
        // Compacted: the changes since the view's revision are gone, the listing has their result. Unavailable:
        // the same, a moment later. Either way the view is rebuilt and published whole.
        const delayMs = error instanceof StoreCompactedError ? 0 : 1_000;
        this.log.warn(`the store's watch ended (${error.message}); listing the store again${delayMs ? ` in ${delayMs / 1000} s` : ""}`);
        setTimeout(() => void this.#exclusive(() => this.#relisted()).catch((err) => this.#rejected(err)), delayMs).unref();
      },
    );
    this.#cancelWatch = cancel;
  }

  /** The store listed again: its view published whole (a load of the file with the store's objects). */
  async #relisted(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#list();
    } catch (err) {
      this.log.error(`listing the store failed, trying again in 1 s: ${(err as Error).message}`);
      setTimeout(() => void this.#exclusive(() => this.#relisted()).catch((e) => this.#rejected(e)), 1_000).unref();
      return;
    }
    await this.#applyArrived();
    if (this.#servedRevision !== this.#storeRevision) await this.#publishView();
  }

  /** Resolves once the watch has delivered `revision` (or, when it takes too long, the store was listed again). */
  async #caughtUp(revision: number): Promise<void> {
    if (this.#delivered >= revision) return;
    let timer: NodeJS.Timeout | undefined;
    const delivered = new Promise<boolean>((resolve) => this.#waiters.push({ revision, resolve: () => resolve(true) }));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), watchCatchUpMs)));
    const inTime = await Promise.race([delivered, late]);
    clearTimeout(timer);
    if (!inTime && !this.#closed) {
      this.log.warn(`the store's watch did not bring revision ${revision} within ${watchCatchUpMs / 1000} s; listing the store again`);
      await this.#list();
    }
  }

  #wake(): void {
    const due = this.#waiters.filter((w) => w.revision <= this.#delivered);
    if (due.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.revision > this.#delivered);
    for (const w of due) w.resolve();
  }

  /**
   * Applies the changes the watch delivered to the view, and publishes the result. When they are exactly the
   * write `own` committed on top of the view it was validated against, that validation's result is what the store
   * now holds (the commit was conditional on it): it is published as it is. Anything else — another process's
   * changes — is settled like a write, or loaded whole; refused, it is logged and the last good config stays.
   */
  async #applyArrived(own?: { base: number; revision: number; settled?: Settled; whole?: ConfigLoadResult; count: number; by?: string }): Promise<void> {
    const changes = this.#arrived;
    if (changes.length === 0) {
      if (own && this.#storeRevision >= own.revision && this.#servedRevision !== this.#storeRevision) await this.#publishView();
      return;
    }
    this.#arrived = [];
    const base = this.#storeRevision;
    for (const c of changes) {
      const key = overlayKey(c.kind, c.name);
      if (c.value === undefined) this.#objects.delete(key);
      // Map semantics as the worker's (a put of a held name keeps its place): both merge in the same order.
      else this.#objects.set(key, { kind: c.kind, name: c.name, value: c.value, revision: c.revision });
    }
    const revision = changes[changes.length - 1].revision;
    this.#storeRevision = revision;
    if (own && own.base === base && changes.every((c) => c.revision === own.revision)) {
      if (own.settled) this.#publishSettled(own.settled, revision, `${own.count} store object(s) written`, "api", own.by);
      else if (own.whole?.kind === "loaded") this.#published(own.whole, revision, "api", own.by);
      return;
    }
    await this.#publishView(changes, base);
  }

  /** Publishes the view: `changes` settled from what is served when they follow it, else the whole config loaded. */
  async #publishView(changes?: readonly StoreChange[], base?: number): Promise<void> {
    const revision = this.#storeRevision;
    const operations = changes?.map(
      (c): StoreOperation => (c.value === undefined ? { op: "delete", kind: c.kind, name: c.name } : { op: "put", kind: c.kind, name: c.name, value: c.value }),
    );
    try {
      // Settled from what is served when that is the view the changes were made to.
      const settled = operations && base !== undefined ? await this.#settle(operations, base) : undefined;
      if (settled) {
        this.#publishSettled(settled, revision, `${operations!.length} store change(s) arrived through the store's watch`, "store");
      } else {
        const result = await this.#loader.load(this.file, { overlay: this.#overlay(this.#objects, `r${revision}`), served: this.#servedNow() });
        if (result.kind !== "loaded") return;
        this.#published(result, revision, "store");
      }
      this.#onReload?.("published");
    } catch (err) {
      if (err instanceof ConfigLoaderClosedError) throw err;
      this.#rejected(err);
    }
  }
  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.close();
    for (const watch of this.#fileWatches.values()) watch.close();
    this.#fileWatches.clear();
    this.#cancelWatch?.();
    this.#cancelWatch = undefined;
    this.#watchToken = undefined;
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
    await this.#loader.close();
    await this.#running;
  }

  async #apply(): Promise<void> {
    const result = await this.#loader.load(this.file, {
      knownVersion: this.#lastSeen,
      overlay: this.#store && this.#overlay(this.#objects, `r${this.#storeRevision}`),
      served: this.#servedNow(),
    });
    this.#lastSeen = result.version;
    if (result.kind === "unchanged") {
      this.#onReload?.("unchanged");
      this.log.debug?.(`config ${this.file} version ${result.version} unchanged, nothing to publish`);
      return;
    }
    this.#published(result, this.#storeRevision, "file");
    this.#onReload?.("published");
  }

  /** What is served, for the config loader: the worker's name for its state, and the snapshots. */
  #servedNow(): LoadOptions["served"] {
    return this.#servedState === undefined || this.#served === undefined ? undefined : { state: this.#servedState, snapshots: this.#served };
  }

  /** A whole load published: the file's content with the store's objects at `revision`. */
  #published(result: Extract<ConfigLoadResult, { kind: "loaded" }>, revision: number, source: PublishSource, by?: string): void {
    publish(this.cache, result.snapshots);
    this.#served = result.snapshots;
    this.#servedState = result.state;
    this.#servedRevision = revision;
    this.#fileVersion = result.version.split("+")[0];
    const version = this.#store ? `${this.#fileVersion}+r${revision}` : result.version;
    this.#lastSeen = version;
    this.#fileNames = new Map(result.fileNames.map((n) => [overlayKey(n.kind, n.name), n.location]));
    this.#watchFiles(result.files, true);
    for (const w of result.warnings) this.log.warn(`config ${this.file}: ${formatLocation(w.location)}: ${w.message}`);
    this.#state = { file: this.file, version, loadedAt: new Date(), shadowed: this.#shadowedNow(result.shadowed) };
    const groups = result.groups > 0 ? ` and ${result.groups} node group(s)` : "";
    this.log.info(`config ${this.file} version ${version} published: ${JSON.stringify(result.summary)}${groups}`);
    this.options.onPublished?.(version, source, by);
  }

  /** A store change settled from what was served (store-writes.ts) published, at `revision`. */
  #publishSettled(settled: Settled, revision: number, what: string, source: PublishSource, by?: string): void {
    const version = `${this.#fileVersion}+r${revision}`;
    this.#servedState = settled.state;
    this.#servedRevision = revision;
    this.#lastSeen = version;
    this.#state = { file: this.file, version, loadedAt: new Date(), shadowed: this.#shadowedNow(settled.shadowed) };
    if (settled.snapshots === this.#served) {
      this.log.debug?.(`config ${this.file} version ${version}: ${what}, nothing served changed`);
    } else {
      this.#served = settled.snapshots;
      publish(this.cache, settled.snapshots);
      this.log.info(`config ${this.file} version ${version} published: ${what}`);
      this.options.onPublished?.(version, source, by);
    }
  }

  #overlay(
    objects: ReadonlyMap<string, OverlayObject>,
    version: string,
    written?: readonly string[],
  ): { objects: OverlayObject[]; version: string; written?: readonly string[] } {
    return { objects: [...objects.values()].map(({ kind, name, value }) => ({ kind, name, value })), version, written };
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
    if (err instanceof ConfigLoadError) this.#watchFiles(err.files, false);
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
