// Every HTTP error the daemon answers — the admin port's endpoints, the write API, CSDS as JSON, REST-JSON polling on
// the xDS port — is one shape: RFC 9457 problem details (application/problem+json) whose `code` is one of
// src/errors.ts (docs/errors.md). `problemStatuses` is the one table of what each code is answered with: the
// handlers take the status and title from it, and scripts/gen-openapi.mjs the responses of schema/openapi.json.
import type { ErrorCode } from "./errors.js";

/** RFC 9457 §3.1.1 `type`: where the codes are explained. */
export const problemType = "https://github.com/xdsd/xdsd/blob/main/docs/errors.md";

/** RFC 9457 §3: the media type of a problem details body. */
export const problemContentType = "application/problem+json";

/** Each code an HTTP error may carry: its status, and its title (RFC 9457 §3.1.3: the same for every occurrence). */
export const problemStatuses = {
  XDSD_HTTP_MALFORMED: { status: 400, title: "malformed request" },
  XDSD_NODE_LIMIT: { status: 400, title: "node over a limit" },
  XDSD_HTTP_UNAUTHORIZED: { status: 401, title: "unauthorized" },
  XDSD_HTTP_WRITES_DISABLED: { status: 403, title: "writes are disabled" },
  XDSD_HTTP_READS_DISABLED: { status: 403, title: "reads are disabled" },
  XDSD_HTTP_FORBIDDEN: { status: 403, title: "forbidden" },
  XDSD_HTTP_PERMISSION_DENIED: { status: 403, title: "permission denied" },
  XDSD_HTTP_NOT_FOUND: { status: 404, title: "not found" },
  XDSD_HTTP_METHOD_NOT_ALLOWED: { status: 405, title: "method not allowed" },
  XDSD_MANAGED_BY_FILE: { status: 409, title: "managed by the config file" },
  XDSD_STORE_REVISION_CONFLICT: { status: 409, title: "the store kept changing" },
  XDSD_STORE_CONFLICT: { status: 412, title: "precondition failed" },
  XDSD_HTTP_BODY_TOO_LARGE: { status: 413, title: "request body too large" },
  XDSD_HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "unsupported media type" },
  XDSD_CONFIG_INVALID: { status: 422, title: "the config would be invalid" },
  XDSD_HTTP_TOO_MANY_FAILURES: { status: 429, title: "too many failed authentications" },
  XDSD_HTTP_HEADERS_TOO_LARGE: { status: 431, title: "request header fields too large" },
  XDSD_HTTP_INTERNAL: { status: 500, title: "internal error" },
  XDSD_HTTP_NO_CONFIG: { status: 503, title: "no configuration for the node" },
  XDSD_STORE_UNAVAILABLE: { status: 503, title: "the store is unreachable" },
} as const satisfies Partial<Record<ErrorCode, { status: number; title: string }>>;

export type ProblemCode = keyof typeof problemStatuses;

/** RFC 9457 problem details, with the members it allows beyond its own (`errors`, `location`, `currentRevision`…). */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly [extension: string]: unknown;
}

/** The problem for `code`: its status and title from the table, `detail` saying what was wrong here and what to do. */
export function problemDetails(code: ProblemCode, detail: string, extensions: Readonly<Record<string, unknown>> = {}): ProblemDetails {
  const { status, title } = problemStatuses[code];
  return { type: problemType, title, status, detail, code, ...extensions };
}

/** The body text of a problem, as every HTTP answer of the daemon writes JSON. */
export function problemText(problem: ProblemDetails): string {
  return `${JSON.stringify(problem, null, 2)}\n`;
}
