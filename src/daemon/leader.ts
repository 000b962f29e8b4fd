// Duties that must run once whatever the number of daemons on one store — endpoint TTL expiry deletes what lapsed,
// and two replicas sweeping would race to delete it twice — run only while this daemon leads (issue 17). A single
// daemon always leads (SoleLeader); replicas on etcd elect one by a lease (store/etcd-election.ts) behind the same
// interface, so that a duty neither knows nor cares how its leadership is decided.

/** Whether this daemon leads now, and a way to hear when that changes. */
export interface Leadership {
  readonly isLeader: boolean;
  /** Calls `listener` with the new state each time it changes; returns what stops that. */
  onChange(listener: (isLeader: boolean) => void): () => void;
}

/** The leadership of a daemon alone on its store: it leads, always. */
export class SoleLeader implements Leadership {
  readonly isLeader = true;
  onChange(): () => void {
    return () => {};
  }
}
