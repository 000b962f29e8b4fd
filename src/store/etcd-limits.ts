// The timings of a daemon on etcd (issue 20): how long one etcd call may take before the store counts as
// unreachable (writes answer 503, /healthz says degraded), and the leader election's lease TTL (how long a dead
// leader's once-only duties wait for another replica). Whole seconds, as etcd's lease TTLs are. docs/limits.md
// lists them with their flags; the etcd store, the election and `xdsd serve` read them here.
import { kebabCaseFlags } from "../limit-flags.js";
export interface EtcdLimits {
  /** How long one etcd call keeps trying, across members, before it fails with XDSD_STORE_UNAVAILABLE. */
  etcdTimeout: number;
  /** The leader election's lease TTL: a leader that etcd hears nothing from for this long loses the lead. */
  leaderLeaseTtl: number;
}

export const defaultEtcdLimits: Readonly<EtcdLimits> = Object.freeze({
  // An etcd leader election takes about a second (1 s election timeout) plus a member that does not answer: an
  // attempt on one member takes at most half of it (etcd-client.ts), leaving time for the others.
  etcdTimeout: 5,
  // etcd's clientv3/concurrency default is 60 s; duties move within this after a crash, so keep it short. Renewals
  // go every third of it.
  leaderLeaseTtl: 5,
});

/** The `xdsd serve` flag of each: `--etcd-timeout`, `--leader-lease-ttl`. */
export const etcdLimitFlags = kebabCaseFlags(defaultEtcdLimits);
