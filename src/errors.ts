// Every error xdsd raises on purpose is one of these classes, each with a stable code. Callers branch on `code`,
// never on message text. docs/errors.md lists them all.
import type { GrpcStatusCode } from "./grpc-status.js";
import { withoutPrivateKeys } from "./resource/redact.js";
import { simpleNameOf } from "./resource/type-urls.js";

/** Where in a config source a problem is: file, 1-based line and column, and the field path inside the document. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
  /** Field path in the document, e.g. `clusters[0].endpoints[1].port`. */
  path?: string;
}

export function formatLocation(loc: SourceLocation): string {
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ""}`;
  return loc.path ? `${where} (${loc.path})` : where;
}

export type ErrorCode =
  | "XDSD_CONFIG_INVALID"
  | "XDSD_SNAPSHOT_INCONSISTENT"
  | "XDSD_SNAPSHOT_DUPLICATE_NAME"
  | "XDSD_UNKNOWN_TYPE_URL"
  | "XDSD_RESOURCE_UNNAMED"
  | "XDSD_BAD_ARGUMENT"
  | "XDSD_STREAM_PROTOCOL"
  | "XDSD_NODE_LIMIT"
  | "XDSD_GRPC_FRAMING"
  | "XDSD_LISTEN_FAILED"
  | "XDSD_STORE_CONFLICT"
  | "XDSD_STORE_COMPACTED"
  | "XDSD_STORE_UNAVAILABLE"
  | "XDSD_MANAGED_BY_FILE"
  | "XDSD_TLS_CREDENTIALS"
  | "XDSD_STORE_REVISION_CONFLICT"
  | "XDSD_ADMIN_TOKENS_INVALID"
  // HTTP answers only (src/problem-details.ts gives each its status), never thrown:
  | "XDSD_HTTP_MALFORMED"
  | "XDSD_HTTP_UNAUTHORIZED"
  | "XDSD_HTTP_WRITES_DISABLED"
  | "XDSD_HTTP_READS_DISABLED"
  | "XDSD_HTTP_FORBIDDEN"
  | "XDSD_HTTP_TOO_MANY_FAILURES"
  | "XDSD_HTTP_PERMISSION_DENIED"
  | "XDSD_HTTP_NOT_FOUND"
  | "XDSD_HTTP_METHOD_NOT_ALLOWED"
  | "XDSD_HTTP_BODY_TOO_LARGE"
  | "XDSD_HTTP_UNSUPPORTED_MEDIA_TYPE"
  | "XDSD_HTTP_HEADERS_TOO_LARGE"
  | "XDSD_HTTP_INTERNAL"
  | "XDSD_HTTP_NO_CONFIG";

export class XdsdError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found in a config file. */
export interface ConfigIssue {
  location: SourceLocation;
  message: string;
}

/** A config document failed validation. Carries every problem found, not just the first. */
export class ConfigError extends XdsdError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    // A message may quote a config value (protobuf-es quotes what does not decode): never a private key.
    const shown = issues.some((i) => i.message.includes("PRIVATE KEY-----")) ? issues.map((i) => ({ ...i, message: withoutPrivateKeys(i.message) })) : issues;
    super("XDSD_CONFIG_INVALID", ConfigError.describe(shown));
    this.issues = shown;
  }
  static describe(issues: readonly ConfigIssue[]): string {
    const lines = issues.map((i) => `${formatLocation(i.location)}: ${i.message}`);
    return `invalid config (${issues.length} error${issues.length === 1 ? "" : "s"}):\n  ${lines.join("\n  ")}`;
  }
}

/** What a snapshot's consistency check found missing: a referenced resource that the snapshot lacks. */
export interface MissingReference {
  /** Type URL and name of the resource that holds the reference. */
  fromType: string;
  from: string;
  /** Type URL and name of the resource it points to. */
  toType: string;
  to: string;
}

export class SnapshotInconsistentError extends XdsdError {
  readonly missing: readonly MissingReference[];
  constructor(missing: readonly MissingReference[]) {
    super(
      "XDSD_SNAPSHOT_INCONSISTENT",
      "snapshot is inconsistent: " +
        missing.map((m) => `${simpleNameOf(m.fromType)} "${m.from}" references ${simpleNameOf(m.toType)} "${m.to}", which is missing`).join("; "),
    );
    this.missing = missing;
  }
}

export class DuplicateResourceError extends XdsdError {
  constructor(
    readonly typeUrl: string,
    readonly resourceName: string,
  ) {
    super("XDSD_SNAPSHOT_DUPLICATE_NAME", `two ${simpleNameOf(typeUrl)} resources are named "${resourceName}"; names must be unique per type`);
  }
}

export class UnknownTypeError extends XdsdError {
  constructor(readonly typeUrl: string) {
    super("XDSD_UNKNOWN_TYPE_URL", `no xDS resource type is registered for "${typeUrl}"`);
  }
}

export class UnnamedResourceError extends XdsdError {
  constructor(readonly typeUrl: string) {
    super("XDSD_RESOURCE_UNNAMED", `a ${simpleNameOf(typeUrl)} resource has no name`);
  }
}

export class BadArgumentError extends XdsdError {
  constructor(message: string) {
    super("XDSD_BAD_ARGUMENT", message);
  }
}

/** A client broke the xDS protocol in a way the stream cannot recover from (e.g. its first request has no node). */
export class StreamProtocolError extends XdsdError {
  constructor(message: string) {
    super("XDSD_STREAM_PROTOCOL", message);
  }
}

/**
 * A request's node is over a limit (its id, cluster or metadata: transport-limits.ts). The request is refused before
 * anything of it is kept: a gRPC stream ends with INVALID_ARGUMENT, a REST poll is answered 400.
 */
export class NodeLimitError extends XdsdError {
  constructor(
    /** `node.id`, `node.cluster` or `node.metadata`. */
    readonly field: string,
    readonly bytes: number,
    readonly limit: number,
    /** The `xdsd serve` flag that raises it. */
    readonly flag: string,
  ) {
    super("XDSD_NODE_LIMIT", `${field} is ${bytes} bytes, over the limit of ${limit} (${flag} raises it); the request was refused and nothing of it kept`);
  }
}

/**
 * A call's request stream cannot go on: a message over the size limit, over the buffered-bytes budget, compressed,
 * or cut off by the client's half-close. Never escapes the transport: it becomes the call's gRPC status.
 */
export class GrpcFramingError extends XdsdError {
  constructor(
    /** The gRPC status code the call ends with (RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL). */
    readonly status: GrpcStatusCode,
    message: string,
  ) {
    super("XDSD_GRPC_FRAMING", message);
  }
}

/** A server could not bind its address (in use, not local, not permitted). */
export class ListenError extends XdsdError {
  constructor(
    readonly address: string,
    /** The system error code: EADDRINUSE, EADDRNOTAVAIL, EACCES… */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super("XDSD_LISTEN_FAILED", `cannot listen on ${address}: ${listenReasons[reason] ?? reason}`, options);
  }
}

const listenReasons: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this host",
  EACCES: "permission denied (ports below 1024 need privileges)",
};

/** A store write's condition (`ifRevision`) did not hold: someone else changed the object first. Nothing was written. */
export class StoreConflictError extends XdsdError {
  constructor(
    readonly objectKind: string,
    readonly objectName: string,
    /** The revision the write required (0: that the object not exist). */
    readonly expectedRevision: number,
    /** The object's revision now; 0 when it does not exist. */
    readonly actualRevision: number,
  ) {
    super(
      "XDSD_STORE_CONFLICT",
      `${objectKind} "${objectName}" ${actualRevision === 0 ? "does not exist" : `is at revision ${actualRevision}`}, ` +
        `but the write required ${expectedRevision === 0 ? "that it not exist" : `revision ${expectedRevision}`}`,
    );
  }
}

/** A watch asked for changes the store no longer keeps: reload everything with `list()` and watch from its revision. */
export class StoreCompactedError extends XdsdError {
  constructor(
    readonly fromRevision: number,
    /** Changes after this revision are kept. */
    readonly compactedRevision: number,
  ) {
    super("XDSD_STORE_COMPACTED", `changes after revision ${fromRevision} are no longer kept (kept: after ${compactedRevision}); reload with list()`);
  }
}

/** The store cannot be opened or used: its directory is not writable, another process holds it, or it is damaged. */
export class StoreUnavailableError extends XdsdError {
  constructor(message: string, options?: ErrorOptions) {
    super("XDSD_STORE_UNAVAILABLE", message, options);
  }
}

/** A write through the API to a name the config file defines: the file manages it (edit the file instead). */
export class ManagedByFileError extends XdsdError {
  constructor(
    readonly objectKind: string,
    readonly objectName: string,
    /** Where the file defines it. */
    readonly location: SourceLocation,
  ) {
    super("XDSD_MANAGED_BY_FILE", `${objectKind} "${objectName}" is defined by the config file at ${formatLocation(location)}; change it there`);
  }
}

/**
 * A TLS certificate, key or CA file cannot be used: unreadable, not PEM, a key that does not match its certificate,
 * a certificate past its validity. At start the daemon does not serve with it; on rotation the previous credentials
 * stay in use.
 */
export class TlsCredentialsError extends XdsdError {
  constructor(
    /** The file at fault. */
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super("XDSD_TLS_CREDENTIALS", `${file}: ${message}`, options);
  }
}

/**
 * A transaction's store-wide condition (`ifStoreRevision`) did not hold: the store had a write after the revision
 * the writer validated against. Nothing was written. A class and code of its own, not StoreConflictError's: this
 * is the writer's own race, answered by re-validating against the new state and retrying, whereas a per-object
 * conflict is the client's stale `If-Match`, answered to the client.
 */
export class StoreRevisionConflictError extends XdsdError {
  constructor(
    /** The revision the write was validated against. */
    readonly requiredRevision: number,
    /** The revision of the store's latest write, after it. */
    readonly storeRevision: number,
  ) {
    super(
      "XDSD_STORE_REVISION_CONFLICT",
      `the store changed after revision ${requiredRevision} (its latest write is at ${storeRevision}); validate against the new state and retry`,
    );
  }
}

/**
 * The admin token file (--admin-token-file) cannot be used: unreadable, empty, or lines that are not
 * `NAME SCOPE TOKEN` (admin/admin-auth.ts). At start the daemon does not serve; on rotation the previous tokens stay.
 */
export class AdminTokenFileError extends XdsdError {
  constructor(
    /** The file at fault. */
    readonly file: string,
    /** Each problem, with its line (never the token). */
    readonly issues: readonly ConfigIssue[],
  ) {
    super("XDSD_ADMIN_TOKENS_INVALID", issues.map((i) => `${formatLocation(i.location)}: ${i.message}`).join("; "));
  }
}
