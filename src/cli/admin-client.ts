// The HTTP side of the commands that drive a running daemon (api-commands.ts, apply-command.ts): requests to its
// admin API, the token, and how an API error or an unfinished rollout is told to the user.
import { defaultAdminUrl } from "../default-ports.js";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { BadArgumentError } from "../errors.js";

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  /** Whether the request carried a token. */
  withToken?: boolean;
}

export function readToken(file: string | undefined): string | undefined {
  const path = file ?? process.env.XDSD_ADMIN_TOKEN_FILE;
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new BadArgumentError(`--token-file ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

/** No answer (status 0: unreachable) or an error status. */
export function failed(reply: Reply): boolean {
  return reply.status === 0 || reply.status >= 400;
}

/** An issue of a refused write, as the API lists it: where (a store object's field path, or a file's line) and what. */
export interface ApiIssue {
  path?: string;
  location?: string;
  message: string;
}

/**
 * An API error as the user reads it: the problem's title and detail, then each issue with where it is — `locate`
 * may say better where, in the user's terms (apply: the line of FILE that declares the store object).
 */
export function fail(reply: Reply, locate?: (issue: ApiIssue) => string | undefined): number {
  const { title, errors } = reply.body as { title?: string; errors?: ApiIssue[] };
  let detail = (reply.body.detail as string | undefined) ?? JSON.stringify(reply.body);
  // The API's 401 speaks to any HTTP client (Authorization: Bearer …); from here, the token comes from a file.
  if (reply.status === 401) detail = reply.withToken ? tokenRefused : tokenMissing;
  process.stderr.write(`xdsd: ${reply.status ? `${reply.status} ` : ""}${title ?? ""}: ${detail}\n`);
  for (const e of errors ?? []) {
    const where = locate?.(e) ?? e.location;
    process.stderr.write(`  ${where ? `${where}: ` : ""}${e.message}\n`);
  }
  return 1;
}

const tokenMissing = "writes need the token xdsd serve was given with --admin-token-file: pass --token-file FILE, or set XDSD_ADMIN_TOKEN_FILE=FILE";

const tokenRefused = "the token in the file of --token-file (or XDSD_ADMIN_TOKEN_FILE) is not the one xdsd serve was given with --admin-token-file";

export function call(admin: string, method: string, path: string, token: string | undefined, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  let url: URL;
  try {
    url = new URL(path, admin);
  } catch {
    throw new BadArgumentError(`--admin "${admin}": expected a URL such as ${defaultAdminUrl}`);
  }
  return new Promise((resolve) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          parsed = { detail: text };
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, withToken: Boolean(token) });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    // Not a usage error: said in one line (fail), exit 1.
    req.on("error", (err: NodeJS.ErrnoException) =>
      resolve({
        status: 0,
        body: {
          title: "unreachable",
          detail: `cannot reach xdsd's admin API at ${admin}: ${err.code === "ECONNREFUSED" ? "connection refused (is xdsd serve running?)" : err.message}`,
        },
      }),
    );
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * A write answered 202 under ?wait=acked: committed, but not every proxy concerned ACKed it. Told on stderr with
 * the proxies that NACKed or had not answered; the exit code 3 says "written, not confirmed" (2 is a usage error).
 */
export function rolloutFailure(reply: Reply): number | undefined {
  if (reply.status !== 202) return undefined;
  const r = reply.body.rollout as
    | { timedOut: boolean; nacked: { node: string; type: string; message: string }[]; pending: { node: string; service: string }[] }
    | undefined;
  process.stderr.write(
    `xdsd: written (revision ${String(reply.body.revision)}) but not acknowledged by every proxy${r?.timedOut ? " before the timeout" : ""}\n`,
  );
  for (const n of r?.nacked ?? []) process.stderr.write(`  rejected by ${n.node} (${n.type}): ${n.message}\n`);
  for (const p of r?.pending ?? []) process.stderr.write(`  no ACK yet from ${p.node} (${p.service})\n`);
  return 3;
}
