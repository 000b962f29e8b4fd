// The HTTP side of the commands that drive a running daemon (api-commands.ts, apply-command.ts): requests to its
// admin API (HTTP, or HTTPS with --admin-ca and, for mutual TLS, --admin-cert/--admin-key), the token, and how an
// API error, a refused connection or an unfinished rollout is told to the user.
import { defaultAdminUrl } from "../default-ports.js";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { BadArgumentError } from "../errors.js";

/** The options every command that talks to the admin API takes (parseArgs), with their environment variables. */
export const adminOptions = {
  admin: { type: "string", default: defaultAdminUrl },
  "admin-ca": { type: "string" },
  "admin-cert": { type: "string" },
  "admin-key": { type: "string" },
  "token-file": { type: "string" },
} as const;

/** The synopsis of adminOptions. */
export const adminSynopsis = "[--admin URL] [--admin-ca FILE [--admin-cert FILE --admin-key FILE]] [--token-file FILE]";

/** What adminOptions mean, for each command's usage. */
export const adminDescription = `--admin URL: the daemon's admin API (default ${defaultAdminUrl}); an https:// URL checks its certificate
against --admin-ca (or $XDSD_ADMIN_CA) and presents --admin-cert/--admin-key ($XDSD_ADMIN_CERT, $XDSD_ADMIN_KEY)
when it asks for one. --token-file ($XDSD_ADMIN_TOKEN_FILE): a file holding the token sent as a bearer token.`;

/** Where and how to reach the admin API: its URL, the token to send, the TLS material for https:// URLs. */
export interface AdminTarget {
  url: string;
  token?: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** The admin target of a command's values (adminOptions), the environment filling in what the flags leave out. */
export function adminTarget(values: { admin?: string; "admin-ca"?: string; "admin-cert"?: string; "admin-key"?: string; "token-file"?: string }): AdminTarget {
  const url = values.admin ?? adminOptions.admin.default;
  const https = url.startsWith("https:");
  const flags = (["admin-ca", "admin-cert", "admin-key"] as const).filter((f) => values[f] !== undefined);
  if (!https && flags.length > 0) throw new BadArgumentError(`--${flags[0]} is for an https:// admin URL; --admin is ${url}`);
  const token = readToken(values["token-file"]);
  if (!https) return { url, token };
  const [ca, cert, key] = (
    [
      ["admin-ca", "XDSD_ADMIN_CA"],
      ["admin-cert", "XDSD_ADMIN_CERT"],
      ["admin-key", "XDSD_ADMIN_KEY"],
    ] as const
  ).map(([flag, env]) => readFileOf(values[flag] === undefined ? env : `--${flag}`, values[flag] ?? process.env[env]));
  if ((cert === undefined) !== (key === undefined)) throw new BadArgumentError("--admin-cert and --admin-key go together: the client certificate and its key");
  return { url, token, tls: { ca, cert, key } };
}

function readFileOf(what: string, file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new BadArgumentError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  /** Whether the request carried a token. */
  withToken?: boolean;
}

function readToken(file: string | undefined): string | undefined {
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
  if (reply.status === 403 && reply.withToken && /read token/.test(detail)) detail += ": give --token-file a file holding a write token";
  process.stderr.write(`xdsd: ${reply.status ? `${reply.status} ` : ""}${title ?? ""}: ${detail}\n`);
  for (const e of errors ?? []) {
    const where = locate?.(e) ?? e.location;
    process.stderr.write(`  ${where ? `${where}: ` : ""}${e.message}\n`);
  }
  return 1;
}

const tokenMissing =
  "this needs a token of the file xdsd serve was given with --admin-token-file (writes a write token; reads, when the admin address is not loopback, any): pass --token-file FILE, or set XDSD_ADMIN_TOKEN_FILE=FILE";

const tokenRefused = "the token in the file of --token-file (or XDSD_ADMIN_TOKEN_FILE) is not one of the tokens xdsd serve was given with --admin-token-file";

/** A request to the admin API, with the target's token if it has one (a write token may read). */
export function call(target: AdminTarget, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  const { url: admin, tls, token } = target;
  let url: URL;
  try {
    url = new URL(path, admin);
  } catch {
    throw new BadArgumentError(`--admin "${admin}": expected a URL such as ${defaultAdminUrl}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new BadArgumentError(`--admin "${admin}": expected an http:// or https:// URL`);
  return new Promise((resolve) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const send = url.protocol === "https:" ? httpsRequest : request;
    const req = send(url, { method, headers, agent: false, timeout: timeoutMs, ...tls }, (res) => {
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
          detail: `cannot reach xdsd's admin API at ${admin}: ${connectionError(err, url)}`,
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

/** Why a connection to the admin API failed, and what to do about it. */
function connectionError(err: NodeJS.ErrnoException, url: URL): string {
  const code = err.code ?? "";
  if (code === "ECONNREFUSED") return "connection refused (is xdsd serve running?)";
  if (url.protocol === "http:" && (code === "ECONNRESET" || /socket hang up/.test(err.message))) {
    return `the connection was closed without an answer: if the admin port speaks TLS (xdsd serve --admin-tls-cert), use an https:// URL and pass --admin-ca FILE (or set XDSD_ADMIN_CA)`;
  }
  if (code === "EPROTO" && /wrong version number|packet length too long/.test(err.message)) return "the admin port does not speak TLS: use an http:// URL";
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/.test(code)) {
    return `its certificate does not chain to a CA this command trusts (${code}): pass --admin-ca FILE (or set XDSD_ADMIN_CA), the CA that issued xdsd's admin certificate`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `its certificate does not name ${url.hostname}: use a host name the certificate has (${err.message})`;
  if (code === "CERT_HAS_EXPIRED") return "its certificate has expired: xdsd's --admin-tls-cert must be renewed";
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(code))
    return "it requires a client certificate (mutual TLS): pass --admin-cert FILE --admin-key FILE (or XDSD_ADMIN_CERT, XDSD_ADMIN_KEY)";
  if (/UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN/.test(code)) {
    return `it refused the client certificate (${code}): --admin-cert must be issued by xdsd's --admin-client-ca, and valid`;
  }
  return err.message;
}
