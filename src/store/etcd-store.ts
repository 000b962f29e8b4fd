// The store (store.ts) on etcd v3, for several xdsd replicas sharing one state (issue 20).
//
// Keys: every object is `<prefix><kind>/<name>` holding its JSON; `<prefix>head` is the store's head key, written by
// every transaction with a value unique to that write. Keys under the prefix that are not an object of a known kind
// are left alone (a later xdsd's kinds, say), so the prefix may be shared with nothing else but xdsd.
//
// Revisions are etcd's: a transaction is one etcd transaction, so one etcd revision, and an object's revision is
// its key's mod_revision. etcd's revision is the cluster's: it advances on a write to ANY key, this prefix's or
// not. So "the store's revision" is the head key's mod_revision — the revision of the store's latest write — and
// the store-wide condition `ifStoreRevision: R` holds when that is ≤ R. `list()` reads every object at one etcd
// revision, the cluster's at the time, and says that one (≥ the head's), so that a watch from it never starts in
// history etcd has compacted away just because this store was idle.
//
// Every transaction compares the head key's mod_revision with the one it expects (the last it saw). That makes a
// transaction safe to send again when its outcome is unknown (the member died or the leader changed after it was
// sent): at most one copy can apply, since the first one to apply moves the head. When a copy finds the head
// moved, the head's value — or, if others wrote since, the first head write after the one expected — says whether
// it was this write (the write's unique value): then it is acknowledged with the revision it got, never applied
// twice. Otherwise the head moved because of another writer: the transaction is tried again from the new head,
// unless one of its own conditions now fails. Per-object conditions are compares on the objects' mod_revisions in
// the same transaction.
//
// Watch: one etcd watch stream over the prefix per store watch, from `fromRevision + 1`. It remembers the revision
// after the last event delivered (or of a progress notification, which etcd sends only to watchers that are caught
// up) and, when the stream breaks (a member killed or cut off from the leader), opens a new one on the next member
// from there: no change is missed or delivered twice. Compaction is answered with StoreCompactedError.
import { randomBytes } from "node:crypto";
import { StoreCompactedError, StoreConflictError, StoreRevisionConflictError, StoreUnavailableError } from "../errors.js";
import { EtcdElection, type EtcdElectionOptions } from "./etcd-election.js";
import { defaultEtcdLimits } from "./etcd-limits.js";
import {
  EtcdClient,
  isCompacted,
  isUnanswered,
  type EtcdReachability,
  type KeyValue,
  type RequestOp,
  type WatchResponse,
  type WatchStream,
} from "./etcd-client.js";
import {
  checkTransaction,
  objectKinds,
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

export interface EtcdStoreOptions {
  /** `host:port` of each member (one is enough; more give failover). */
  endpoints: readonly string[];
  /** The keys' prefix (default `/xdsd/`): several xdsd deployments may share a cluster under prefixes of their own. */
  prefix?: string;
  /** PEM contents: the CA of the members' certificates, and a client certificate and key for mutual TLS. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** How long a call keeps trying, across members, before it fails with StoreUnavailableError (etcd-limits.ts). */
  callTimeoutMs?: number;
}

export const defaultEtcdPrefix = "/xdsd/";
const defaultCallTimeoutMs = defaultEtcdLimits.etcdTimeout * 1000;
/** Objects per page of a listing: every page is read at the listing's one revision. */
const listPageSize = 500;

const kinds: ReadonlySet<string> = new Set(objectKinds);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The end of the key range of every key that starts with `prefix` (etcd's `clientv3.GetPrefixRangeEnd`). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all keys
}

export class EtcdStore implements Store {
  readonly #client: EtcdClient;
  readonly #prefix: Buffer;
  readonly #head: Buffer;
  readonly #callTimeoutMs: number;
  readonly #watches = new Set<PrefixWatch>();
  /** The head's mod_revision as last seen: what the next transaction expects (a stale one costs a retry). */
  #knownHead = 0;

  private constructor(client: EtcdClient, prefix: string, callTimeoutMs: number) {
    this.#client = client;
    this.#prefix = Buffer.from(prefix);
    this.#head = Buffer.from(`${prefix}head`);
    this.#callTimeoutMs = callTimeoutMs;
  }

  /** Connects and reads the store's revision: rejects with StoreUnavailableError when no member answers. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    if (options.endpoints.length === 0) throw new TypeError("etcd: at least one endpoint is needed");
    const prefix = options.prefix ?? defaultEtcdPrefix;
    if (prefix === "") throw new TypeError("etcd: the key prefix must not be empty");
    const callTimeoutMs = options.callTimeoutMs ?? defaultCallTimeoutMs;
    const client = new EtcdClient({ endpoints: options.endpoints, tls: options.tls, callTimeoutMs });
    const store = new EtcdStore(client, prefix, callTimeoutMs);
    try {
      await store.revision();
    } catch (err) {
      client.close();
      if (err instanceof StoreUnavailableError)
        throw new StoreUnavailableError(`cannot use etcd at ${options.endpoints.join(",")}: ${err.message}`, { cause: err });
      throw new StoreUnavailableError(`cannot use etcd at ${options.endpoints.join(",")}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  get prefix(): string {
    return this.#prefix.toString();
  }

  /** A leader election among the replicas on this store (etcd-election.ts), on this store's connections. */
  election(options: EtcdElectionOptions): EtcdElection {
    return new EtcdElection(this.#client, this.prefix, options);
  }

  /** Whether etcd answered the last call (StoreState for /healthz and /metrics), and when that changes. */
  get reachability(): EtcdReachability {
    return this.#client.reachability;
  }

  onReachability(listener: (state: EtcdReachability) => void): () => void {
    return this.#client.onReachability(listener);
  }

  async get(kind: ObjectKind, name: string): Promise<StoredObject | undefined> {
    const res = await this.#client.range({ key: this.#key(kind, name) });
    return res.kvs[0] && this.#object(res.kvs[0]);
  }

  async list(kind?: ObjectKind): Promise<StoreListing> {
    const start = kind === undefined ? this.#prefix : this.#key(kind, "");
    const end = prefixEnd(start);
    // Pages are read at the first page's revision; if etcd compacts it away meanwhile, start over.
    for (let attempt = 0; ; attempt++) {
      const objects: StoredObject[] = [];
      let revision = 0;
      let from = start;
      try {
        for (;;) {
          const res = await this.#client.range({ key: from, range_end: end, limit: listPageSize, revision });
          if (revision === 0) revision = Number(res.header.revision);
          for (const kv of res.kvs) {
            const object = this.#object(kv);
            if (object) objects.push(object);
          }
          if (!res.more || res.kvs.length === 0) break;
          from = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
        }
        return { objects, revision };
      } catch (err) {
        if (!isCompacted(err) || attempt >= 3) throw err;
      }
    }
  }

  async put(kind: ObjectKind, name: string, value: ObjectValue, condition: WriteCondition = {}): Promise<StoredObject> {
    const { revision } = await this.transaction([{ op: "put", kind, name, value, ...condition }]);
    return { kind, name, value, revision };
  }

  async delete(kind: ObjectKind, name: string, condition: WriteCondition = {}): Promise<number | undefined> {
    if (condition.ifRevision !== undefined) return (await this.transaction([{ op: "delete", kind, name, ifRevision: condition.ifRevision }])).revision;
    // Deleting what is absent must use no revision, but every transaction writes the head: delete what is there,
    // on condition that it still is; another writer that changes it meanwhile makes us look again.
    for (;;) {
      const current = await this.get(kind, name);
      if (!current) return undefined;
      try {
        return (await this.transaction([{ op: "delete", kind, name, ifRevision: current.revision }])).revision;
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
      }
    }
  }

  async transaction(operations: readonly StoreOperation[], condition: StoreCondition = {}): Promise<{ revision: number }> {
    this.#checkOpen();
    checkTransaction(operations, condition);
    const { ifStoreRevision } = condition;
    // What tells this write's head value from any other's.
    const writeId = Buffer.from(randomBytes(12).toString("base64url"));
    const conditioned = operations.filter((o) => o.ifRevision !== undefined);
    const success: RequestOp[] = operations.map((o) =>
      o.op === "put"
        ? { request_put: { key: this.#key(o.kind, o.name), value: Buffer.from(JSON.stringify(o.value)) } }
        : { request_delete_range: { key: this.#key(o.kind, o.name) } },
    );
    success.push({ request_put: { key: this.#head, value: writeId } });
    // When a compare fails: the head and every conditioned object as they are, to say which and why.
    const failure: RequestOp[] = [this.#head, ...conditioned.map((o) => this.#key(o.kind, o.name))].map((key) => ({ request_range: { key } }));
    const deadline = Date.now() + this.#callTimeoutMs;
    let expectedHead = this.#knownHead;
    for (;;) {
      if (ifStoreRevision !== undefined && expectedHead > ifStoreRevision) {
        // The store has moved past R: nothing may be committed. Report an object's conflict first (store.ts).
        const state = await this.#client.txn({ compare: [], success: failure, failure: [] });
        this.#checkObjects(
          conditioned,
          state.responses.slice(1).map((r) => r.response_range?.kvs[0]),
        );
        throw new StoreRevisionConflictError(ifStoreRevision, this.#seeHead(state.responses[0].response_range?.kvs[0]));
      }
      const { response: res, resent } = await this.#client.txnResent({
        compare: [
          { result: 0, target: 2, key: this.#head, mod_revision: expectedHead },
          ...conditioned.map((o) => ({ result: 0 as const, target: 2 as const, key: this.#key(o.kind, o.name), mod_revision: o.ifRevision })),
        ],
        success,
        failure,
      });
      if (res.succeeded) {
        const revision = Number(res.header.revision);
        this.#knownHead = Math.max(this.#knownHead, revision);
        return { revision };
      }
      const head = res.responses[0].response_range?.kvs[0];
      const headRevision = this.#seeHead(head);
      // A copy of this write sent before (its answer lost) was applied: acknowledge it, do not apply it again.
      if (head?.value.equals(writeId)) return { revision: headRevision };
      if (resent && headRevision !== expectedHead) {
        const first = await this.#firstHeadWriteAfter(expectedHead);
        if (first === undefined)
          throw new StoreUnavailableError(
            `etcd lost the answer to a write, and the history that would say whether it was applied is compacted; read the store to see`,
          );
        if (first.value.equals(writeId)) return { revision: Number(first.mod_revision) };
      }
      this.#checkObjects(
        conditioned,
        res.responses.slice(1).map((r) => r.response_range?.kvs[0]),
      );
      if (ifStoreRevision !== undefined && headRevision > ifStoreRevision) throw new StoreRevisionConflictError(ifStoreRevision, headRevision);
      // Another writer moved the head; none of this write's conditions failed: try again from the new head.
      if (Date.now() >= deadline)
        throw new StoreUnavailableError(`a write to etcd kept losing to other writers for ${this.#callTimeoutMs} ms (the store's head moved each time)`);
      expectedHead = headRevision;
    }
  }

  watch(fromRevision: number, onChange: (change: StoreChange) => void, onError: (error: StoreWatchError) => void): () => void {
    this.#checkOpen();
    const watch = new PrefixWatch(
      this.#client,
      this.#prefix,
      this.#head,
      fromRevision,
      (kv, deleted) => this.#change(kv, deleted),
      onChange,
      (error) => {
        this.#watches.delete(watch);
        onError(error);
      },
    );
    this.#watches.add(watch);
    watch.start();
    return () => {
      this.#watches.delete(watch);
      watch.cancel();
    };
  }

  async revision(): Promise<number> {
    const res = await this.#client.range({ key: this.#head });
    return this.#seeHead(res.kvs[0]);
  }

  async close(): Promise<void> {
    for (const w of this.#watches) w.cancel();
    this.#watches.clear();
    this.#client.close();
  }

  /** Throws StoreConflictError for the first conditioned operation whose object is not at its `ifRevision`. */
  #checkObjects(conditioned: readonly StoreOperation[], current: readonly (KeyValue | undefined)[]): void {
    conditioned.forEach((o, i) => {
      const actual = current[i] ? Number(current[i]!.mod_revision) : 0;
      if (actual !== o.ifRevision) throw new StoreConflictError(o.kind, o.name, o.ifRevision!, actual);
    });
  }

  #seeHead(head: KeyValue | undefined): number {
    const revision = head ? Number(head.mod_revision) : 0;
    this.#knownHead = Math.max(this.#knownHead, revision);
    return revision;
  }

  /** The first write of the head key after `revision`, from etcd's history; undefined if that is compacted. */
  async #firstHeadWriteAfter(revision: number): Promise<KeyValue | undefined> {
    const deadline = Date.now() + this.#callTimeoutMs;
    for (;;) {
      const { stream, member } = this.#client.openWatch();
      const outcome = await new Promise<{ kv?: KeyValue; compacted?: boolean; failed?: boolean }>((resolve) => {
        const timer = setTimeout(() => resolve({ failed: true }), Math.max(0, deadline - Date.now()));
        const done = (o: { kv?: KeyValue; compacted?: boolean; failed?: boolean }) => {
          clearTimeout(timer);
          resolve(o);
        };
        stream.on("data", (res: WatchResponse) => {
          if (Number(res.compact_revision) > 0) done({ compacted: true });
          else if (res.canceled) done({ failed: true });
          else if (res.events.length > 0) done({ kv: res.events[0].kv });
        });
        stream.on("error", () => done({ failed: true }));
        stream.on("end", () => done({ failed: true }));
        stream.write({ create_request: { key: this.#head, range_end: Buffer.alloc(0), start_revision: revision + 1, progress_notify: false } });
      });
      stream.cancel();
      if (outcome.kv) return outcome.kv;
      if (outcome.compacted) return undefined;
      this.#client.failed(member);
      if (Date.now() >= deadline) throw new StoreUnavailableError("etcd did not answer whether a write whose answer was lost had been applied");
      await sleep(200);
    }
  }

  #key(kind: ObjectKind, name: string): Buffer {
    return Buffer.from(`${this.#prefix}${kind}/${name}`);
  }

  /** The object a key-value holds; undefined for the head and for keys that are not an object of a known kind. */
  #object(kv: KeyValue): StoredObject | undefined {
    const change = this.#change(kv);
    return change && { kind: change.kind, name: change.name, value: change.value ?? {}, revision: change.revision };
  }

  #change(kv: KeyValue, deleted = false): (StoreChange & { value?: ObjectValue }) | undefined {
    const key = kv.key.subarray(this.#prefix.length).toString();
    const slash = key.indexOf("/");
    if (slash <= 0 || !kinds.has(key.slice(0, slash))) return undefined;
    const kind = key.slice(0, slash) as ObjectKind;
    const name = key.slice(slash + 1);
    const revision = Number(kv.mod_revision);
    if (deleted) return { revision, kind, name };
    let value: unknown;
    try {
      value = JSON.parse(kv.value.toString());
    } catch (err) {
      throw new StoreUnavailableError(`etcd key ${kv.key.toString()} (revision ${revision}) does not hold JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new StoreUnavailableError(`etcd key ${kv.key.toString()} (revision ${revision}) does not hold a JSON object`);
    return { revision, kind, name, value: value as ObjectValue };
  }

  #checkOpen(): void {
    if (this.#client.closed) throw new StoreUnavailableError("the store is closed");
  }
}

/** One store watch: an etcd watch over the prefix, opened again from where it was whenever its stream breaks. */
class PrefixWatch {
  #next: number;
  #cancelled = false;
  #delivered = false;
  #skipped = false;
  #stream: WatchStream | undefined;

  constructor(
    readonly client: EtcdClient,
    readonly prefix: Buffer,
    readonly head: Buffer,
    readonly fromRevision: number,
    readonly toChange: (kv: KeyValue, deleted: boolean) => StoreChange | undefined,
    readonly onChange: (change: StoreChange) => void,
    readonly onError: (error: StoreWatchError) => void,
  ) {
    this.#next = fromRevision + 1;
  }

  start(): void {
    this.#run().catch((err: unknown) =>
      this.#fail(err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`cannot watch etcd: ${(err as Error).message}`, { cause: err })),
    );
  }

  cancel(): void {
    this.#cancelled = true;
    this.#stream?.cancel();
  }

  /**
   * Where a watch from 0 that etcd calls compacted may start instead: every write of the store writes its head, so
   * none is older than the head's creation, and with no head there is none yet. Only from 0 with nothing
   * delivered: a consumer at revision F > 0 may hold objects whose deletions were compacted away (if the keys were
   * deleted by hand, the head with them), and must re-list.
   */
  async #skipAhead(): Promise<boolean> {
    if (this.fromRevision !== 0 || this.#delivered) return false;
    const res = await this.client.range({ key: this.head });
    const next = res.kvs[0] ? Number(res.kvs[0].create_revision) : Number(res.header.revision) + 1;
    if (next <= this.#next) return false;
    this.#next = next;
    return true;
  }

  async #compacted(compactRevision: number): Promise<"retry" | "over"> {
    if (!this.#skipped) {
      this.#skipped = true;
      try {
        if (await this.#skipAhead()) return "retry";
      } catch (err) {
        if (!isUnanswered(err)) throw err;
        this.#skipped = false;
        await sleep(backoff(0));
        return "retry";
      }
    }
    this.#fail(new StoreCompactedError(this.fromRevision === 0 && !this.#delivered ? 0 : this.#next - 1, compactRevision));
    return "over";
  }

  async #run(): Promise<void> {
    for (let failures = 0; !this.#cancelled; ) {
      // A compaction at exactly the start revision keeps its puts but not its deletions (etcd's keyIndex.compact
      // drops a tombstone at the compaction revision), yet etcd accepts a watch from there: so check first that
      // the revision before the start can still be read, which etcd refuses once it is compacted.
      let startCompacted = false;
      if (this.#next > 1) {
        try {
          await this.client.range({ key: this.prefix, revision: this.#next - 1, count_only: true });
        } catch (err) {
          if (this.#cancelled) return;
          if (isCompacted(err)) startCompacted = true;
          else if (!isUnanswered(err))
            throw err; // a refusal: #run's caller ends the watch with it
          else {
            await sleep(backoff(failures++));
            continue;
          }
        }
      }
      if (this.#cancelled) return;
      const { stream, member } = this.client.openWatch();
      this.#stream = stream;
      const ended = await new Promise<"broken" | "over" | { compacted: number }>((resolve) => {
        stream.on("data", (res: WatchResponse) => {
          if (this.#cancelled) return;
          const compactRevision = Number(res.compact_revision);
          if (compactRevision > 0 || (res.created && startCompacted)) return resolve({ compacted: compactRevision > 0 ? compactRevision : this.#next });
          if (res.canceled) {
            // Only a refusal is final; anything else (a member stopping) is tried again elsewhere.
            if (/permission denied|auth/i.test(res.cancel_reason)) {
              this.#fail(new StoreUnavailableError(`etcd ended the watch of ${this.prefix.toString()}: ${res.cancel_reason}`));
              return resolve("over");
            }
            return resolve("broken");
          }
          if (res.created) {
            this.client.answered();
            failures = 0;
            return;
          }
          if (res.events.length === 0) {
            // A progress notification: etcd sends them only to a watcher that has caught up.
            this.#next = Math.max(this.#next, Number(res.header.revision) + 1);
            return;
          }
          // A response holds whole revisions (no `fragment` asked): deliver it in one synchronous run.
          for (const event of res.events) {
            let change: StoreChange | undefined;
            try {
              change = this.toChange(event.kv, event.type === 1);
            } catch (err) {
              this.#fail(err as StoreUnavailableError);
              return resolve("over");
            }
            if (change) {
              this.#delivered = true;
              this.onChange(change);
            }
          }
          this.#next = Number(res.events[res.events.length - 1].kv.mod_revision) + 1;
        });
        stream.on("error", () => resolve("broken"));
        stream.on("end", () => resolve("broken"));
        stream.write({
          create_request: { key: this.prefix, range_end: prefixEnd(this.prefix), start_revision: this.#next, progress_notify: true },
        });
      });
      stream.removeAllListeners("data");
      stream.on("error", () => {}); // the cancel below ends it with CANCELLED
      stream.cancel();
      if (ended === "over" || this.#cancelled) return;
      if (ended !== "broken") {
        if ((await this.#compacted(ended.compacted)) === "over") return;
        continue;
      }
      this.client.failed(member);
      await sleep(backoff(failures++));
    }
  }

  #fail(error: StoreWatchError): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.onError(error);
  }
}

/** 100 ms, doubling to 2 s: a stream that breaks again at once must not spin. */
function backoff(failures: number): number {
  return Math.min(100 * 2 ** failures, 2_000);
}
