// The store: xdsd's durable state behind one interface — the objects written through the API (clusters, their
// endpoints, listeners, raw resources, node groups), each with a revision. SQLite implements it for one daemon
// (sqlite-store.ts, the embedded default); etcd will for replicas. Every implementation runs the same conformance
// suite (test/store/conformance.ts), so what is promised here is what each one does.
//
// Revisions are etcd's model, so that an etcd implementation is a thin mapping: the store has one revision
// counter; every committed write (a put, a delete, or a whole transaction) advances it by one, and each object
// carries the revision that last changed it (etcd's mod_revision). Compare-and-set is on that revision:
// `ifRevision: 0` means "only if absent", `ifRevision: n` "only if it was last changed at n".
//
// A write is acknowledged (its promise resolves) only once it is durable: after a crash, every acknowledged write
// is there, and nothing half-written is. `watch(fromRevision)` replays every change after `fromRevision` in
// revision order, then follows new ones: a consumer that remembers the revision it has applied never misses a
// change, even across a restart, as long as the change log still holds it (StoreCompactedError otherwise: reload
// with `list()`, which says the revision it reflects).

/** What the store holds. Endpoints are their own objects so that registering one changes one object. */
export const objectKinds = ["cluster", "endpoint", "listener", "resource", "node-group"] as const;
export type ObjectKind = (typeof objectKinds)[number];

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
  /** The store revision the listing reflects: watch from it to follow what comes after. */
  readonly revision: number;
}

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
   * Applies every operation or none, as one write (one revision). Rejects with StoreConflictError, changing
   * nothing, when any condition fails.
   */
  transaction(operations: readonly StoreOperation[]): Promise<{ revision: number }>;
  /**
   * Calls `listener` with every change after `fromRevision`, in order (changes already committed first, then each
   * new one after it commits); returns the cancel function. Throws StoreCompactedError when the changes after
   * `fromRevision` are no longer all kept.
   */
  watch(fromRevision: number, listener: (change: StoreChange) => void): () => void;
  /** The revision of the latest committed write (0 for a new store). */
  revision(): Promise<number>;
  close(): Promise<void>;
}
