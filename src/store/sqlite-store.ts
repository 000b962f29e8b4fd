// The embedded store (store.ts): one SQLite database in the data directory, through better-sqlite3.
//
// Durability: WAL journal with `synchronous=FULL`, so a commit returns only after the WAL is fsynced — the
// acknowledged-write rule. The WAL is replayed on open after a crash, and `quick_check` runs before anything is
// served from it.
// Exclusivity: `locking_mode=EXCLUSIVE` and an immediate write transaction at open hold the database's lock for the
// life of the process: a second daemon on the same directory is refused at once (StoreUnavailableError) instead of
// interleaving writes with the first.
// Changes: every write appends to a change log (revision, then one row per object changed) that `watch` replays;
// the log keeps the latest `changeLogRevisions` revisions and at most `changeLogBytes` of values (the newest
// revision whatever its size), older ones are compacted away: a watcher behind them gets StoreCompactedError and
// lists again. The bound in bytes is what keeps the file's size in proportion to what it holds: 60 PUTs of a 675 kB
// cluster left 40.5 MB of log beside 0.67 MB of objects, and 100,000 revisions of it would be 67 GB (issue 18).
// better-sqlite3 is synchronous; each method does its work at once and returns a settled promise, so the interface
// is the one an asynchronous (etcd) store has.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { StoreCompactedError, StoreConflictError, StoreRevisionConflictError, StoreUnavailableError } from "../errors.js";
import {
  checkTransaction,
  type ObjectKind,
  type ObjectValue,
  type Store,
  type StoreChange,
  type StoreCondition,
  type StoreListing,
  type StoreOperation,
  type StoredObject,
  type StoreWatchError,
  type WriteCondition,
} from "./store.js";

export interface SqliteStoreOptions {
  /** Revisions of changes kept for `watch` (default defaultChangeLogRevisions). */
  changeLogRevisions?: number;
  /** Bytes of changed values (JSON, as stored) the change log keeps for `watch` (default defaultChangeLogBytes). */
  changeLogBytes?: number;
}

/** Revisions of changes the log keeps unless `changeLogRevisions` says otherwise (docs/limits.md). */
export const defaultChangeLogRevisions = 100_000;

/** 64 MiB: thousands of revisions of large objects, and a file that stays a small multiple of what it holds. */
export const defaultChangeLogBytes = 64 * 1024 * 1024;

const schemaVersion = 1;

interface ObjectRow {
  kind: ObjectKind;
  name: string;
  value: string;
  revision: number;
}

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #file: string;
  readonly #keep: number;
  readonly #keepBytes: number;
  /** Bytes of values in the change log now. */
  #logBytes: number;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  #revision: number;
  #compacted: number;
  #closed = false;
  readonly #stmt: {
    get: Database.Statement<[string, string], ObjectRow>;
    upsert: Database.Statement<[string, string, string, number]>;
    remove: Database.Statement<[string, string]>;
    log: Database.Statement<[number, number, string, string, string | null]>;
    setMeta: Database.Statement<[string, number]>;
    compact: Database.Statement<[number]>;
    bytesPerRevision: Database.Statement<[number], { revision: number; bytes: number }>;
  };

  private constructor(db: Database.Database, file: string, options: SqliteStoreOptions) {
    this.#db = db;
    this.#file = file;
    this.#keep = options.changeLogRevisions ?? defaultChangeLogRevisions;
    this.#keepBytes = options.changeLogBytes ?? defaultChangeLogBytes;
    const meta = (key: string) => (db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: number } | undefined)?.value ?? 0;
    this.#revision = meta("revision");
    this.#compacted = meta("compacted");
    this.#stmt = {
      get: db.prepare("SELECT kind, name, value, revision FROM objects WHERE kind = ? AND name = ?"),
      upsert: db.prepare(
        "INSERT INTO objects (kind, name, value, revision) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value, revision = excluded.revision",
      ),
      remove: db.prepare("DELETE FROM objects WHERE kind = ? AND name = ?"),
      log: db.prepare("INSERT INTO changes (revision, seq, kind, name, value) VALUES (?, ?, ?, ?, ?)"),
      setMeta: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      compact: db.prepare("DELETE FROM changes WHERE revision <= ?"),
      // In revision order (the primary key's), so that it can stop at the first revisions that free enough.
      bytesPerRevision: db.prepare(
        "SELECT revision, SUM(COALESCE(LENGTH(CAST(value AS BLOB)), 0)) AS bytes FROM changes WHERE revision > ? GROUP BY revision ORDER BY revision",
      ),
    };
    this.#logBytes = (db.prepare("SELECT SUM(COALESCE(LENGTH(CAST(value AS BLOB)), 0)) AS bytes FROM changes").get() as { bytes: number | null }).bytes ?? 0;
  }

  /** Opens (creating if needed) the store in `dir` (`xdsd.db` there). */
  static open(dir: string, options: SqliteStoreOptions = {}): SqliteStore {
    let db: Database.Database;
    const file = join(dir, "xdsd.db");
    try {
      // The store holds what the write API was given, private keys of Secrets among them (shown redacted, kept as
      // written): a new store is its owner's alone. SQLite creates the -wal and -shm files with the database's mode.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      closeSync(openSync(file, "a", 0o600));
      db = new Database(file, { timeout: 0 });
    } catch (err) {
      throw new StoreUnavailableError(`cannot open the store ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      // Takes the exclusive lock now, and keeps it: the database is this process's until it closes it.
      db.exec("BEGIN IMMEDIATE; COMMIT");
      const check = db.pragma("quick_check", { simple: true });
      if (check !== "ok") throw new StoreUnavailableError(`the store ${file} is damaged (quick_check: ${String(check)})`);
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS objects (
          kind TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, revision INTEGER NOT NULL,
          PRIMARY KEY (kind, name)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS changes (
          revision INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, value TEXT,
          PRIMARY KEY (revision, seq)) WITHOUT ROWID;
      `);
      const version = (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: number } | undefined)?.value;
      if (version === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(schemaVersion);
      else if (version !== schemaVersion) throw new StoreUnavailableError(`the store ${file} has schema ${version}; this xdsd reads schema ${schemaVersion}`);
    } catch (err) {
      db.close();
      if (err instanceof StoreUnavailableError) throw err;
      const code = (err as { code?: string }).code;
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
        throw new StoreUnavailableError(`the store ${file} is in use by another process (another xdsd on the same --data-dir?)`, { cause: err });
      }
      throw new StoreUnavailableError(`cannot open the store ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new SqliteStore(db, file, options);
  }

  async get(kind: ObjectKind, name: string): Promise<StoredObject | undefined> {
    this.#open();
    const row = this.#stmt.get.get(kind, name);
    return row && this.#toObject(row);
  }

  async list(kind?: ObjectKind): Promise<StoreListing> {
    this.#open();
    const rows = (
      kind === undefined
        ? this.#db.prepare("SELECT kind, name, value, revision FROM objects ORDER BY kind, name").all()
        : this.#db.prepare("SELECT kind, name, value, revision FROM objects WHERE kind = ? ORDER BY name").all(kind)
    ) as ObjectRow[];
    return { objects: rows.map((row) => this.#toObject(row)), revision: this.#revision };
  }

  async put(kind: ObjectKind, name: string, value: ObjectValue, condition: WriteCondition = {}): Promise<StoredObject> {
    const { revision } = await this.transaction([{ op: "put", kind, name, value, ...condition }]);
    return { kind, name, value, revision };
  }

  async delete(kind: ObjectKind, name: string, condition: WriteCondition = {}): Promise<number | undefined> {
    this.#open();
    if (condition.ifRevision === undefined && !this.#stmt.get.get(kind, name)) return undefined;
    const { revision } = await this.transaction([{ op: "delete", kind, name, ...condition }]);
    return revision;
  }

  async transaction(operations: readonly StoreOperation[], condition: StoreCondition = {}): Promise<{ revision: number }> {
    this.#open();
    checkTransaction(operations, condition);
    const revision = this.#revision + 1;
    const changes: StoreChange[] = [];
    let compacted = this.#compacted;
    let logBytes = this.#logBytes;
    const apply = this.#db.transaction(() => {
      for (const o of operations) {
        const current = this.#stmt.get.get(o.kind, o.name);
        if (o.ifRevision !== undefined && (current?.revision ?? 0) !== o.ifRevision) {
          throw new StoreConflictError(o.kind, o.name, o.ifRevision, current?.revision ?? 0);
        }
        const text = o.op === "put" ? JSON.stringify(o.value) : null;
        if (o.op === "put") this.#stmt.upsert.run(o.kind, o.name, text!, revision);
        else this.#stmt.remove.run(o.kind, o.name);
        if (text !== null) logBytes += Buffer.byteLength(text);
        this.#stmt.log.run(revision, changes.length, o.kind, o.name, text);
        changes.push(o.op === "put" ? { revision, kind: o.kind, name: o.name, value: o.value } : { revision, kind: o.kind, name: o.name });
      }
      // The store-wide condition after the objects': a per-object conflict is the one to report (store.ts).
      const { ifStoreRevision } = condition;
      if (ifStoreRevision !== undefined && this.#revision > ifStoreRevision) throw new StoreRevisionConflictError(ifStoreRevision, this.#revision);
      this.#stmt.setMeta.run("revision", revision);
      // The oldest revisions go first: past the revision bound, then while the values are over the byte bound.
      let upTo = Math.max(compacted, revision - this.#keep);
      let freed = 0;
      if (logBytes > this.#keepBytes || upTo > compacted) {
        for (const r of this.#stmt.bytesPerRevision.iterate(compacted)) {
          if (r.revision >= revision || (r.revision > upTo && logBytes - freed <= this.#keepBytes)) break;
          upTo = Math.max(upTo, r.revision);
          freed += r.bytes;
        }
      }
      if (upTo > compacted) {
        this.#stmt.compact.run(upTo);
        this.#stmt.setMeta.run("compacted", upTo);
        compacted = upTo;
        logBytes -= freed;
      }
    });
    // Committed (and fsynced: synchronous=FULL) when this returns; a throw rolls everything back.
    apply.immediate();
    this.#revision = revision;
    this.#compacted = compacted;
    this.#logBytes = logBytes;
    for (const change of changes) for (const listener of [...this.#listeners]) listener(change);
    return { revision };
  }

  watch(fromRevision: number, listener: (change: StoreChange) => void, onError: (error: StoreWatchError) => void): () => void {
    this.#open();
    if (fromRevision < this.#compacted) {
      // Later, as etcd's would be: the caller has its cancel function before its error handler runs.
      const error = new StoreCompactedError(fromRevision, this.#compacted);
      queueMicrotask(() => onError(error));
      return () => {};
    }
    const rows = this.#db.prepare("SELECT revision, kind, name, value FROM changes WHERE revision > ? ORDER BY revision, seq").all(fromRevision) as {
      revision: number;
      kind: ObjectKind;
      name: string;
      value: string | null;
    }[];
    for (const r of rows) {
      const { value } = r;
      listener(value === null ? { revision: r.revision, kind: r.kind, name: r.name } : { ...r, value: this.#parse({ ...r, value }, "changes") });
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async revision(): Promise<number> {
    this.#open();
    return this.#revision;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw new StoreUnavailableError("the store is closed");
  }

  #toObject(row: ObjectRow): StoredObject {
    return { kind: row.kind, name: row.name, value: this.#parse(row, "objects"), revision: row.revision };
  }

  /**
   * A row's value. Only this class writes them, as JSON objects; one that is not was changed by something else (a
   * hand edit, a disk error that quick_check did not see): refused naming the row, rather than a SyntaxError.
   */
  #parse(row: { kind: string; name: string; value: string; revision: number }, table: "objects" | "changes"): ObjectValue {
    let value: unknown;
    try {
      value = JSON.parse(row.value);
    } catch (err) {
      value = err;
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Error)) return value as ObjectValue;
    const what = value instanceof Error ? `is not JSON (${value.message})` : "is not a JSON object";
    throw new StoreUnavailableError(
      `the store ${this.#file} is damaged: the value of ${row.kind} "${row.name}" (table ${table}, revision ${row.revision}) ${what}. ` +
        `Restore the data directory from a backup, or remove that object with sqlite3 ("DELETE FROM ${table} WHERE kind = '${row.kind}' AND name = '${row.name.replaceAll("'", "''")}'") and write it again through the API`,
    );
  }
}
