// The store: xdsd's durable state behind one interface — the objects written through the API (clusters, their
// endpoints, listeners, raw resources, node groups), each with a revision. SQLite implements it for one daemon
// (sqlite-store.ts, the embedded default), etcd for replicas (etcd-store.ts); open-store.ts opens either from a
// URL. Both run the same conformance suite (test/store/conformance.ts), so what is promised here is what each does.
//
// Revisions are etcd's model, so that the etcd implementation is a thin mapping. Every committed write (a put, a
// delete, or a whole transaction) has a revision greater than every earlier write's, and each object carries the
// revision of the write that last changed it (etcd's mod_revision). Revisions need not be consecutive: SQLite's
// are (each write advances its counter by one), but etcd's are the cluster's, advanced by every write to any key
// of the cluster, this store's or not (issue 20). So compare revisions, never count them. "The store's revision"
// (`revision()`) is the revision of its latest write, 0 for a new store.
//
// Conditions. Compare-and-set is on an object's revision: `ifRevision: 0` means "only if absent", `ifRevision: n`
// "only if it was last changed at n". The store-wide condition, `transaction(ops, {ifStoreRevision: R})`, commits
// only if the store has had no write after revision R — R being a revision the writer observed: a listing's, a
// watched change's, or `revision()`'s (issue 17: a write validated against the state at R is committed only if
// that state is still current; when not, the writer re-validates against the new state and retries).
//
// A write is acknowledged (its promise resolves) only once it is durable: after a crash, every acknowledged write
// is there, exactly once, and nothing half-written is. `watch(fromRevision)` delivers every change after
// `fromRevision` in revision order, then follows new ones: a consumer that remembers the revision it has applied
// never misses a change nor sees one twice, even across a restart, as long as the change history still holds it
// (StoreCompactedError otherwise: reload with `list()`, which says the revision it reflects, and watch from there).

import type { StoreCompactedError, StoreUnavailableError } from "../errors.js";

/** How one kind of store object is named outside the store: by the write API, `xdsd get`/`apply`, and in the config. */
export interface ObjectKindInfo {
  /** The write API's collection, `/v1/<apiPath>/{name}`; endpoints have none of their own (`/v1/clusters/{c}/endpoints/{host:port}`). */
  readonly apiPath?: string;
  /** The API's JSON name of a list of them (`{"node_groups": [...]}`) and of one (`{"node_group": {...}}`). */
  readonly plural: string;
  readonly singular: string;
  /**
   * Where one sits in the config document, which is also the head of a store object's field path in an issue
   * (`nodes.<name>.<field>`): the top-level list or map (`nodes` for node groups); endpoints join their cluster's
   * `endpoints`.
   */
  readonly documentKey: string;
  /** How one joins the document: an item of its top-level list, a key of its top-level map, or an entry of its cluster. */
  readonly joins: "list" | "map" | "cluster";
  /** Its definition in the config's JSON Schema (schema/xdsd-config.schema.json `definitions`). */
  readonly schemaDefinition: string;
}

/**
 * What the store holds, and how each kind is named elsewhere: the one table the store, the write API's routes,
 * `xdsd get` and `xdsd apply`, the merge into the document and the OpenAPI generator read. Endpoints are their own
 * objects so that registering one changes one object.
 */
export const objectKindTable = {
  cluster: { apiPath: "clusters", plural: "clusters", singular: "cluster", documentKey: "clusters", joins: "list", schemaDefinition: "cluster" },
  endpoint: { plural: "endpoints", singular: "endpoint", documentKey: "endpoints", joins: "cluster", schemaDefinition: "endpoint" },
  listener: { apiPath: "listeners", plural: "listeners", singular: "listener", documentKey: "listeners", joins: "list", schemaDefinition: "listener" },
  resource: { apiPath: "resources", plural: "resources", singular: "resource", documentKey: "resources", joins: "list", schemaDefinition: "resource" },
  "node-group": { apiPath: "node-groups", plural: "node_groups", singular: "node_group", documentKey: "nodes", joins: "map", schemaDefinition: "group" },
} as const satisfies Record<string, ObjectKindInfo>;

export type ObjectKind = keyof typeof objectKindTable;
export const objectKinds = Object.keys(objectKindTable) as readonly ObjectKind[];
/** The kinds with a collection of their own in the write API (all but endpoints). */
export type CollectionKind = { [K in ObjectKind]: (typeof objectKindTable)[K] extends { apiPath: string } ? K : never }[ObjectKind];
export const collectionKinds = objectKinds.filter((k): k is CollectionKind => "apiPath" in objectKindTable[k]);

/** An object's content: JSON, as the API and the config file write it. */
export type ObjectValue = { readonly [key: string]: unknown };

/**
 * An endpoint object's name, `<cluster>/<host:port>`, split at its last "/": a host:port has none, while a cluster's
 * name may have some (`a/b/1.2.3.4:80` is cluster `a/b`'s). Undefined for a name without "/".
 */
export function splitEndpointName(name: string): { cluster: string; endpoint: string } | undefined {
  const cut = name.lastIndexOf("/");
  return cut < 0 ? undefined : { cluster: name.slice(0, cut), endpoint: name.slice(cut + 1) };
}

export interface StoredObject {
  readonly kind: ObjectKind;
  /** Unique per kind. Endpoints: `<cluster>/<host:port>` (splitEndpointName). */
  readonly name: string;
  readonly value: ObjectValue;
  /** The store revision of the write that last changed this object. */
  readonly revision: number;
}

/** One change, as a watch sees it. */
export interface StoreChange {
  readonly revision: number;
  readonly kind: ObjectKind;
  readonly name: string;
  /** The new content; absent for a deletion. */
  readonly value?: ObjectValue;
}

export interface WriteCondition {
  /** Only if the object was last changed at this revision; 0: only if it does not exist. */
  readonly ifRevision?: number;
}

export type StoreOperation =
  | ({ readonly op: "put"; readonly kind: ObjectKind; readonly name: string; readonly value: ObjectValue } & WriteCondition)
  | ({ readonly op: "delete"; readonly kind: ObjectKind; readonly name: string } & WriteCondition);

export interface StoreListing {
  readonly objects: readonly StoredObject[];
  /**
   * The revision the listing reflects: every write up to it is in the listing, none after it. At least the store's
   * revision at the time (etcd: the cluster's revision then, which may be higher). Watch from it to follow what
   * comes after; use it as `ifStoreRevision` for a write validated against this listing.
   */
  readonly revision: number;
}

/** A condition on the whole store, for `transaction`. */
export interface StoreCondition {
  /**
   * Only if the store has had no write after this revision (a revision the writer observed); else the transaction
   * is refused with StoreRevisionConflictError.
   */
  readonly ifStoreRevision?: number;
}

/**
 * Whether a store answers: etcd may not (members down or cut off), and a daemon then serves what it has, refuses
 * writes and says so (issue 20, degraded mode). SQLite, in the daemon's own process, always does.
 */
export interface StoreReachability {
  readonly reachable: boolean;
  /** Why not, when not: the last call's error. */
  readonly reason?: string;
  /** When this state began. */
  readonly since: Date;
}

/** Why a watch ended by itself: it delivers no change after this. */
export type StoreWatchError = StoreCompactedError | StoreUnavailableError;

export interface Store {
  get(kind: ObjectKind, name: string): Promise<StoredObject | undefined>;
  /** Every object (of one kind, if given), sorted by kind then name. */
  list(kind?: ObjectKind): Promise<StoreListing>;
  /** Creates or replaces an object. Rejects with StoreConflictError when `ifRevision` does not hold. */
  put(kind: ObjectKind, name: string, value: ObjectValue, condition?: WriteCondition): Promise<StoredObject>;
  /**
   * Deletes an object; resolves to the revision of the deletion, or undefined when there was nothing to delete
   * (no revision is used then). Rejects with StoreConflictError when `ifRevision` does not hold.
   */
  delete(kind: ObjectKind, name: string, condition?: WriteCondition): Promise<number | undefined>;
  /**
   * Applies every operation or none, as one write (one revision). Changing nothing, rejects with
   * StoreConflictError when an object's condition fails (checked first: re-validating would not help), else with
   * StoreRevisionConflictError when the store-wide condition fails. An object may appear once per transaction.
   */
  transaction(operations: readonly StoreOperation[], condition?: StoreCondition): Promise<{ revision: number }>;
  /**
   * Calls `onChange` with every change after `fromRevision`, in revision order (changes already committed first,
   * then each new one after it commits), until cancelled with the function returned. The changes of one write are
   * delivered in one synchronous run, so a consumer may apply a write whole by deferring its work to a microtask.
   * Calls may begin before `watch` returns (SQLite replays at once) or later (etcd). When the changes after
   * `fromRevision` are no longer all kept, `onError` gets a StoreCompactedError (reload with `list()`); when the
   * store refuses the watch, a StoreUnavailableError. Either way the watch is over. A lost connection is not an
   * error: the watch resumes where it was, neither missing nor repeating a change.
   */
  watch(fromRevision: number, onChange: (change: StoreChange) => void, onError: (error: StoreWatchError) => void): () => void;
  /** The revision of the latest committed write (0 for a new store). */
  revision(): Promise<number>;
  close(): Promise<void>;
}

const kinds: ReadonlySet<string> = new Set(objectKinds);

/**
 * The store takes only what its interface allows: a wrong kind, an empty name, a value that is not an object, a
 * bad revision, or one object twice in a transaction (etcd refuses a transaction that writes a key twice, and
 * the order of two writes of one object in one revision would mean nothing) is a caller's bug: TypeError.
 */
export function checkTransaction(operations: readonly StoreOperation[], condition: StoreCondition = {}): void {
  const seen = new Set<string>();
  for (const o of operations) {
    if (!kinds.has(o.kind)) throw new TypeError(`unknown object kind "${o.kind}" (kinds: ${objectKinds.join(", ")})`);
    if (typeof o.name !== "string" || o.name === "") throw new TypeError("an object needs a name");
    if (o.op === "put" && (o.value === null || typeof o.value !== "object" || Array.isArray(o.value)))
      throw new TypeError("an object's value must be a JSON object");
    if (o.ifRevision !== undefined && !isRevision(o.ifRevision)) throw new TypeError("ifRevision must be a whole number ≥ 0");
    const key = `${o.kind}/${o.name}`;
    if (seen.has(key)) throw new TypeError(`${o.kind} "${o.name}" appears more than once in one transaction`);
    seen.add(key);
  }
  if (condition.ifStoreRevision !== undefined && !isRevision(condition.ifStoreRevision)) throw new TypeError("ifStoreRevision must be a whole number ≥ 0");
}

const isRevision = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
