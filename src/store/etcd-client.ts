// A small etcd v3 client on @grpc/grpc-js: the calls the etcd store makes (range, txn, compact, watch, status) and
// its leader election (leases: etcd-election.ts), with failover between the members given, and nothing else. Why not the `etcd3` npm package: its Watcher resumes
// after a disconnect from the *header* revision + 1 of the last response, the creation response included (watch.js,
// `updateRevision`), so a watch that started from an old revision and lost its connection before the replay
// arrived skips changes; and its default policy retries any call on UNAVAILABLE, writes included, whose outcome
// the store must decide itself (etcd-store.ts). The store needs exact control of both; the wire API is small.
//
// Members: one gRPC client per endpoint; calls go to the current one, and move to the next when it fails with an
// error that another member may not have (unreachable, no leader, overloaded), until the call's deadline. Every
// call carries etcd's `hasleader` metadata (clientv3.WithRequireLeader): a member cut off from the leader answers
// "no leader" at once, and ends its watch streams, instead of serving stale reads or a watch that never fires.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { StoreUnavailableError } from "../errors.js";
import type { StoreReachability } from "./store.js";

export interface KeyValue {
  key: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  value: Buffer;
  /** The lease the key is attached to ("0": none). */
  lease: string;
}
export interface ResponseHeader {
  member_id: string;
  revision: string;
}
export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number;
  revision?: number;
  keys_only?: boolean;
  count_only?: boolean;
}
export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: string;
}
export type RequestOp =
  | { request_range: RangeRequest }
  | { request_put: { key: Buffer; value: Buffer; lease?: string } }
  | { request_delete_range: { key: Buffer; range_end?: Buffer } };
export interface ResponseOp {
  response_range?: RangeResponse;
}
/** etcd's Compare: `result` EQUAL 0, GREATER 1, LESS 2, NOT_EQUAL 3; `target` CREATE 1, MOD 2, VALUE 3. */
export interface Compare {
  result: 0 | 1 | 2 | 3;
  target: 1 | 2 | 3;
  key: Buffer;
  create_revision?: number;
  mod_revision?: number;
  value?: Buffer;
}
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}
export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}
export interface WatchEvent {
  /** PUT 0, DELETE 1 */
  type: number;
  kv: KeyValue;
}
export interface WatchResponse {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: WatchEvent[];
}
export interface WatchCreateRequest {
  key: Buffer;
  range_end: Buffer;
  start_revision: number;
  progress_notify: boolean;
}
export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  leader: string;
  raftTerm: string;
}
export type WatchStream = grpc.ClientDuplexStream<{ create_request: WatchCreateRequest }, WatchResponse>;
export interface LeaseGrantResponse {
  header: ResponseHeader;
  /** int64 as a decimal string. */
  ID: string;
  /** Seconds. */
  TTL: string;
  error: string;
}
interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID: string;
  /** Seconds left; "0" when the lease is gone (expired or revoked). */
  TTL: string;
}
type LeaseKeepAliveStream = grpc.ClientDuplexStream<{ ID: string }, LeaseKeepAliveResponse>;

/** Whether etcd answered the last call made (not: it did not answer one in time, and none has since). */
export type EtcdReachability = StoreReachability;

export interface EtcdClientOptions {
  /** `host:port` of each member. */
  endpoints: readonly string[];
  /** PEM: the CA that signed the members' certificates, and this client's certificate and key (mutual TLS). */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** How long one call keeps trying, across members, before it fails with StoreUnavailableError. */
  callTimeoutMs: number;
}

// The proto file ships with the package (package.json "files"); from dist/src/store/ it is three levels up.
const protoFile = fileURLToPath(new URL("../../../proto/etcd/rpc.proto", import.meta.url));
interface Services {
  KV: grpc.ServiceClientConstructor;
  Watch: grpc.ServiceClientConstructor;
  Lease: grpc.ServiceClientConstructor;
  Maintenance: grpc.ServiceClientConstructor;
}
let services: Services | undefined;
function loadServices(): Services {
  // int64 as decimal strings (member IDs use all 64 bits); revisions are read with Number(): they count writes.
  const definition = protoLoader.loadSync(protoFile, { keepCase: true, longs: String, defaults: true, oneofs: true });
  return (services ??= (grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: Services }).etcdserverpb);
}

interface Member {
  readonly endpoint: string;
  readonly kv: grpc.Client;
  readonly watch: grpc.Client;
  readonly lease: grpc.Client;
  readonly maintenance: grpc.Client;
}

/**
 * Errors another member, or the same one a moment later, may not have: the member is unreachable or stopping,
 * has no leader, the leader changed or was lost during the call (etcd's request timeouts), or is overloaded.
 * Anything else (a compacted revision, a bad request, permission denied) is an answer.
 */
export function isTransient(err: unknown): boolean {
  const { code, details } = (err ?? {}) as { code?: number; details?: string };
  return (
    code === grpc.status.UNAVAILABLE ||
    code === grpc.status.DEADLINE_EXCEEDED ||
    (code === grpc.status.RESOURCE_EXHAUSTED && /too many requests/.test(details ?? "")) ||
    (code === grpc.status.UNKNOWN && /leader|timed out|stopped/.test(details ?? ""))
  );
}

/** A call that failed because no member answered in time (try again later), as opposed to one etcd refused. */
export function isUnanswered(err: unknown): boolean {
  return err instanceof StoreUnavailableError && isTransient(err.cause);
}

/** etcd's answer to a read or watch of history it has compacted away. */
export function isCompacted(err: unknown): boolean {
  return (err as { code?: number }).code === grpc.status.OUT_OF_RANGE && /compacted/.test((err as { details?: string }).details ?? "");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly #members: Member[];
  readonly #callTimeoutMs: number;
  #current = 0;
  #closed = false;
  #reachability: EtcdReachability = { reachable: true, since: new Date() };
  readonly #reachabilityListeners = new Set<(state: EtcdReachability) => void>();

  constructor(options: EtcdClientOptions) {
    const { KV, Watch, Lease, Maintenance } = loadServices();
    const credentials = options.tls
      ? grpc.credentials.createSsl(options.tls.ca, options.tls.key ?? null, options.tls.cert ?? null)
      : grpc.credentials.createInsecure();
    const channelOptions: grpc.ChannelOptions = {
      // A member that vanishes without closing its connections (a host down, a partition) is noticed within ~15 s.
      // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
      // Listings are paged by count (etcd-store.ts); a page's bytes are the objects' own.
      "grpc.max_receive_message_length": -1,
      // Reconnect fast to a member that comes back: the defaults back off to 2 minutes.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
    };
    this.endpoints = options.endpoints;
    this.#callTimeoutMs = options.callTimeoutMs;
    // One channel per member, shared by its three services.
    this.#members = options.endpoints.map((endpoint) => {
      const kv = new KV(endpoint, credentials, channelOptions);
      const channel = kv.getChannel();
      return {
        endpoint,
        kv,
        watch: new Watch(endpoint, credentials, { ...channelOptions, channelOverride: channel }),
        lease: new Lease(endpoint, credentials, { ...channelOptions, channelOverride: channel }),
        maintenance: new Maintenance(endpoint, credentials, { ...channelOptions, channelOverride: channel }),
      };
    });
  }

  async range(request: RangeRequest): Promise<RangeResponse> {
    return (await this.#call<RangeResponse>("kv", "Range", request)).response;
  }

  /** A transaction that writes nothing (reads only), or one that is safe to send again as it is. */
  async txn(request: TxnRequest): Promise<TxnResponse> {
    return (await this.#call<TxnResponse>("kv", "Txn", request)).response;
  }

  /**
   * A transaction, sent again on the next member after a transient failure: the caller must make that safe (the
   * store's transactions compare its head key, so a copy applies only if no other did). `resent` says that a copy
   * whose answer was lost may have been applied.
   */
  txnResent(request: TxnRequest): Promise<{ response: TxnResponse; resent: boolean }> {
    return this.#call<TxnResponse>("kv", "Txn", request);
  }

  async compact(revision: number): Promise<void> {
    await this.#call("kv", "Compact", { revision, physical: true });
  }

  /** One member's status (no failover): its ID, its leader's, its etcd version. */
  status(memberIndex: number, timeoutMs = 2_000): Promise<StatusResponse> {
    return this.#once(this.#members[memberIndex], "maintenance", "Status", {}, Date.now() + timeoutMs);
  }

  /** Asks `memberIndex` (which must be the leader) to hand leadership to the member whose ID is `targetId`. */
  moveLeader(memberIndex: number, targetId: string, timeoutMs = 10_000): Promise<unknown> {
    return this.#once(this.#members[memberIndex], "maintenance", "MoveLeader", { targetID: targetId }, Date.now() + timeoutMs);
  }

  /** A lease of `ttlSeconds` (etcd's unit); keys put with it are deleted when it expires or is revoked. */
  async leaseGrant(ttlSeconds: number): Promise<LeaseGrantResponse> {
    const { response } = await this.#call<LeaseGrantResponse>("lease", "LeaseGrant", { TTL: ttlSeconds, ID: 0 });
    if (response.error) throw new StoreUnavailableError(`etcd refused a lease: ${response.error}`);
    return response;
  }

  /** Revokes a lease: its keys are deleted at once. A lease already gone is not an error (etcd: "requested lease not found"). */
  async leaseRevoke(id: string, timeoutMs = this.#callTimeoutMs): Promise<void> {
    try {
      await this.#call("lease", "LeaseRevoke", { ID: id }, timeoutMs);
    } catch (err) {
      if (!/lease not found/.test(((err as StoreUnavailableError).cause as { details?: string } | undefined)?.details ?? "")) throw err;
    }
  }

  /**
   * Renews a lease once: resolves with the seconds it has left, 0 when it is gone (expired or revoked). Tries the
   * members in turn until `timeoutMs`, then rejects with StoreUnavailableError.
   */
  async leaseKeepAlive(id: string, timeoutMs: number): Promise<number> {
    const { response } = await this.#withFailover("LeaseKeepAlive", timeoutMs, (member, deadline) => keepAliveOnce(member, id, deadline));
    return response;
  }

  /** Whether etcd answers, as the calls made last found. */
  get reachability(): EtcdReachability {
    return this.#reachability;
  }

  /** Calls `listener` each time etcd stops or starts answering (not for each failed call); returns what stops that. */
  onReachability(listener: (state: EtcdReachability) => void): () => void {
    this.#reachabilityListeners.add(listener);
    return () => this.#reachabilityListeners.delete(listener);
  }

  /** A call or a watch got an answer: etcd is reachable. */
  answered(): void {
    this.#answered();
  }

  #answered(): void {
    if (!this.#reachability.reachable) this.#setReachability({ reachable: true, since: new Date() });
  }

  #unanswered(error: StoreUnavailableError): void {
    // The latest reason is kept; listeners hear only of the change itself (the daemon logs it once).
    const changed = this.#reachability.reachable;
    this.#reachability = { reachable: false, reason: error.message, since: changed ? new Date() : this.#reachability.since };
    if (changed) for (const listener of this.#reachabilityListeners) listener(this.#reachability);
  }

  #setReachability(state: EtcdReachability): void {
    this.#reachability = state;
    for (const listener of this.#reachabilityListeners) listener(state);
  }

  /** Opens a watch stream on the current member; `failed()` moves on to the next one for the following attempt. */
  openWatch(): { stream: WatchStream; member: number } {
    this.#checkOpen();
    const member = this.#current;
    const client = this.#members[member].watch as unknown as { Watch(metadata: grpc.Metadata): WatchStream };
    return { stream: client.Watch(leaderMetadata()), member };
  }

  /** Says that `member` just failed a call or a stream: the next one goes to the following member. */
  failed(member: number): void {
    if (this.#current === member) this.#current = (member + 1) % this.#members.length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#members) m.kv.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #call<T>(
    service: "kv" | "lease" | "maintenance",
    method: string,
    request: unknown,
    timeoutMs = this.#callTimeoutMs,
  ): Promise<{ response: T; resent: boolean }> {
    return this.#withFailover(method, timeoutMs, (member, deadline) => this.#once<T>(member, service, method, request, deadline));
  }

  /**
   * `attempt` on the current member, and on the next ones after a transient failure, until `timeoutMs`; then
   * StoreUnavailableError naming what each member said. `resent`: an attempt failed before the one answered.
   */
  async #withFailover<T>(
    method: string,
    timeoutMs: number,
    attempt: (member: Member, deadline: number) => Promise<T>,
  ): Promise<{ response: T; resent: boolean }> {
    const deadline = Date.now() + timeoutMs;
    const errors = new Map<string, string>();
    for (let tried = 0; ; tried++) {
      this.#checkOpen();
      const member = this.#current;
      try {
        // One attempt may not use the whole deadline: a member that hangs must leave time for the others.
        const response = await attempt(this.#members[member], Math.min(deadline, Date.now() + Math.max(1_000, timeoutMs / 2)));
        this.#answered();
        return { response, resent: errors.size > 0 };
      } catch (err) {
        if (this.#closed) throw new StoreUnavailableError("the store is closed", { cause: err });
        if (isCompacted(err)) throw err;
        if (!isTransient(err)) throw refusal(method, err);
        errors.set(this.#members[member].endpoint, (err as Error).message);
        this.failed(member);
        if (Date.now() >= deadline) {
          const said = [...errors].map(([endpoint, message]) => `${endpoint}: ${message}`).join("; ");
          const error = new StoreUnavailableError(`etcd did not answer ${method} within ${timeoutMs} ms (${said})`, { cause: err });
          this.#unanswered(error);
          throw error;
        }
        // A whole round of members failed: wait a little (an election takes about a second) before the next.
        if ((tried + 1) % this.#members.length === 0) await sleep(Math.min(100 * 2 ** Math.floor(tried / this.#members.length), 1_000));
      }
    }
  }

  #once<T>(member: Member, service: "kv" | "lease" | "maintenance", method: string, request: unknown, deadline: number): Promise<T> {
    const client = member[service] as unknown as Record<
      string,
      (req: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, res: T) => void) => void
    >;
    return new Promise((resolve, reject) => {
      client[method](request, leaderMetadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreUnavailableError("the store is closed");
  }
}

/**
 * One renewal of a lease on one member: the seconds it has left, 0 when it is gone. One short stream per renewal:
 * a stream kept open would have to be watched for silently lost members, and renewals are seconds apart.
 */
function keepAliveOnce(member: Member, id: string, deadline: number): Promise<number> {
  const client = member.lease as unknown as { LeaseKeepAlive(metadata: grpc.Metadata, options: grpc.CallOptions): LeaseKeepAliveStream };
  return new Promise<number>((resolve, reject) => {
    const stream = client.LeaseKeepAlive(leaderMetadata(), { deadline });
    stream.on("data", (res: LeaseKeepAliveResponse) => {
      resolve(Number(res.TTL));
      stream.cancel();
    });
    stream.on("error", (err) => reject(err));
    stream.on("end", () => reject(Object.assign(new Error("the keep-alive stream ended without an answer"), { code: grpc.status.UNAVAILABLE })));
    stream.write({ ID: id });
  });
}

/** etcd's answer that no other member would change, said with what to do where it is one of its limits. */
function refusal(method: string, err: unknown): StoreUnavailableError {
  const details = (err as { details?: string }).details ?? (err as Error).message;
  const hint = /too many operations/.test(details)
    ? " (etcd's --max-txn-ops, 128 by default: a transaction of N objects takes N+1 operations; raise it, or write fewer objects at once)"
    : /request is too large/.test(details)
      ? " (etcd's --max-request-bytes, 1.5 MiB by default; raise it, or write fewer or smaller objects at once)"
      : "";
  return new StoreUnavailableError(`etcd refused ${method}: ${details}${hint}`, { cause: err });
}

function leaderMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set("hasleader", "true");
  return metadata;
}
