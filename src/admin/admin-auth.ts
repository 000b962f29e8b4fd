// Who may use the admin API, in one place (issue 19, item 4): every route of admin-server.ts asks `require(req, res,
// "read")` (or `check`), the write API `check(req, "write")` for every write. A request is granted by a bearer
// token of --admin-token-file — each with a name and a scope, `read` or `write` (a write token may read) — or, for
// a read on a loopback admin address, without a token, as before tokens had scopes. Refused: 401 (no token where
// one is needed, or one that is not in the file), 403 (a read token for a write; writes without a token file),
// 429 (too many failed authentications from one address: AuthFailureLimiter). Tokens are compared by their SHA-256
// digests with crypto.timingSafeEqual, every token every time, so that the answer takes the same time whatever is
// presented (a length check first, or comparing bytes, told apart a value of the token's length: issue 18).
//
// The token file (docs/security.md), one token per line, `#` starts a comment line, blank lines are skipped:
//   NAME SCOPE TOKEN        e.g.  deploy write 3f1c…   /   prometheus read 9ab0…
// A file holding one bare token (one field, alone) means what it meant before names and scopes: a write token,
// named `default`. The file is watched (`watch`): a rotated token works at once and the old one stops; a file that
// does not parse keeps the previous tokens and logs why, file:line.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AdminTokenFileError, type ConfigIssue } from "../errors.js";
import { watchFile, type FileWatch } from "../daemon/file-watch.js";
import type { Logger } from "../log.js";
import { defaultAdminLimits, type AdminLimits } from "./admin-limits.js";
import { problemContentType, problemDetails, problemText, type ProblemCode, type ProblemDetails } from "../problem-details.js";

export type Scope = "read" | "write";

export const scopes: readonly Scope[] = ["read", "write"];

/** A token as the server keeps it: its name and scope, and the digest of its value (never the value). */
export interface AdminToken {
  readonly name: string;
  readonly scope: Scope;
  readonly digest: Buffer;
}

/** Shortest token accepted: a guessable token is no protection. */
export const minTokenLength = 16;

/** What a token's name may be: it is written in audit lines and logs, so nothing that could break a line. */
const tokenName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The name of the token of a file holding one bare token. */
export const bareTokenName = "default";

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The tokens of a token file's text; throws AdminTokenFileError listing every bad line (file:line: what is wrong). */
export function parseTokenFile(text: string, file: string): AdminToken[] {
  const issues: ConfigIssue[] = [];
  const lines = text.split(/\r?\n/);
  const entries = lines.flatMap((raw, i) => {
    const line = raw.trim();
    return line === "" || line.startsWith("#") ? [] : [{ line: i + 1, fields: line.split(/\s+/) }];
  });
  const issue = (line: number, message: string) => issues.push({ location: { file, line }, message });
  if (entries.length === 0) issue(1, `no token: write one line NAME SCOPE TOKEN (SCOPE read or write), or one bare token (a write token)`);
  if (entries.length === 1 && entries[0].fields.length === 1) {
    const [token] = entries[0].fields;
    if (token.length < minTokenLength) issue(entries[0].line, `the token must be at least ${minTokenLength} characters`);
    if (issues.length > 0) throw new AdminTokenFileError(file, issues);
    return [{ name: bareTokenName, scope: "write", digest: sha256(token) }];
  }
  const tokens: AdminToken[] = [];
  const names = new Map<string, number>();
  const values = new Map<string, number>();
  for (const { line, fields } of entries) {
    if (fields.length !== 3) {
      issue(
        line,
        fields.length === 1
          ? "a bare token is only allowed alone in the file; with several tokens, write NAME SCOPE TOKEN on each line"
          : `expected NAME SCOPE TOKEN (3 fields separated by spaces), found ${fields.length} fields`,
      );
      continue;
    }
    const [name, scope, token] = fields;
    const before = issues.length;
    if (!tokenName.test(name)) issue(line, `the name "${name}" must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    else if (names.has(name)) issue(line, `the name "${name}" is already used on line ${names.get(name)}`);
    if (!(scopes as readonly string[]).includes(scope)) issue(line, `the scope of "${name}" is "${scope}"; expected read or write`);
    // The token's value is never repeated in a message: only where it is.
    if (token.length < minTokenLength) issue(line, `the token of "${name}" must be at least ${minTokenLength} characters`);
    else if (values.has(token)) issue(line, `the token of "${name}" is the same as the token on line ${values.get(token)}: each token must be its own`);
    names.set(name, names.get(name) ?? line);
    values.set(token, values.get(token) ?? line);
    if (issues.length === before) tokens.push({ name, scope: scope as Scope, digest: sha256(token) });
  }
  if (issues.length > 0) throw new AdminTokenFileError(file, issues);
  return tokens;
}

/** The tokens of --admin-token-file, read again when the file changes (`watch`). */
export class AdminTokens {
  #tokens: readonly AdminToken[];

  private constructor(
    /** The file, or undefined for tokens given in code (library, tests). */
    readonly file: string | undefined,
    tokens: readonly AdminToken[],
  ) {
    this.#tokens = tokens;
  }

  /** Reads and checks the file; throws AdminTokenFileError (unreadable, or which lines are wrong). */
  static load(file: string): AdminTokens {
    return new AdminTokens(file, readTokenFile(file));
  }

  /** Tokens given by value (a library's WriteApi({token}), tests). */
  static of(tokens: readonly { name: string; scope: Scope; token: string }[]): AdminTokens {
    return new AdminTokens(
      undefined,
      tokens.map((t) => ({ name: t.name, scope: t.scope, digest: sha256(t.token) })),
    );
  }

  get tokens(): readonly AdminToken[] {
    return this.#tokens;
  }

  /**
   * The token `presented` is, compared in constant time with every token (no early exit: how long it takes does not
   * say which one, or how close).
   */
  match(presented: string): AdminToken | undefined {
    const digest = sha256(presented);
    let found: AdminToken | undefined;
    for (const t of this.#tokens) if (timingSafeEqual(digest, t.digest)) found = t;
    return found;
  }

  /** Reads the file again: undefined once the new tokens are in use, or the error that kept the previous ones. */
  reload(): AdminTokenFileError | undefined {
    if (this.file === undefined) return undefined;
    try {
      this.#tokens = readTokenFile(this.file);
      return undefined;
    } catch (err) {
      if (err instanceof AdminTokenFileError) return err;
      throw err;
    }
  }

  /** Reloads on every change of the file, logging the names now in use, or why the previous tokens stay. */
  watch(log: Logger): FileWatch {
    const file = this.file;
    if (file === undefined) return { close() {} };
    return watchFile(file, () => {
      const error = this.reload();
      if (error) log.warn(`admin tokens not reloaded, the previous ones stay in use: ${error.message}`);
      else log.info(`admin tokens reloaded from ${file}: ${this.#tokens.map((t) => `${t.name} (${t.scope})`).join(", ")}`);
    });
  }
}

function readTokenFile(file: string): AdminToken[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AdminTokenFileError(file, [
      { location: { file }, message: code === "ENOENT" ? "no such file" : `cannot read it: ${code ?? (err as Error).message}` },
    ]);
  }
  return parseTokenFile(text, file);
}

/**
 * Failed authentications per remote address over a fixed window: past `maxAuthFailures` the address is answered 429
 * with Retry-After until its window ends, whatever it presents (so that guessing tokens costs a window per
 * `maxAuthFailures` guesses). The table holds at most `maxAuthFailureAddresses` addresses: past it the one that
 * failed least recently is forgotten (memory stays bounded however many addresses a client has).
 */
export class AuthFailureLimiter {
  readonly #failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limits: Pick<AdminLimits, "maxAuthFailures" | "authFailureWindowMs" | "maxAuthFailureAddresses">,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long `address` must wait before its next authentication is looked at (ms); 0: not blocked. */
  blockedFor(address: string): number {
    const entry = this.#failures.get(address);
    if (!entry) return 0;
    const left = entry.resetAt - this.now();
    if (left <= 0) {
      this.#failures.delete(address);
      return 0;
    }
    return entry.count >= this.limits.maxAuthFailures ? left : 0;
  }

  /** Counts a failed authentication of `address`. */
  fail(address: string): void {
    const now = this.now();
    const entry = this.#failures.get(address);
    // Deleted and set again: the map's order is the order of the last failure, oldest first.
    this.#failures.delete(address);
    if (entry && entry.resetAt > now) this.#failures.set(address, { count: entry.count + 1, resetAt: entry.resetAt });
    else this.#failures.set(address, { count: 1, resetAt: now + this.limits.authFailureWindowMs });
    while (this.#failures.size > this.limits.maxAuthFailureAddresses) this.#failures.delete(this.#failures.keys().next().value!);
  }

  /** Addresses in the table (bounded by maxAuthFailureAddresses). */
  get size(): number {
    return this.#failures.size;
  }
}

/** A request allowed: by the token named (and its scope), or without a token (a read on a loopback address). */
export interface Granted {
  readonly granted: true;
  readonly name?: string;
  readonly scope?: Scope;
}

/** A request refused, as the answer says it: problem details (what to do in its detail), and headers (WWW-Authenticate, Retry-After). */
export interface Refusal {
  readonly granted: false;
  readonly problem: ProblemDetails;
  readonly headers: Record<string, string>;
}

export interface AdminAuthOptions {
  /** The tokens (--admin-token-file); without, writes are disabled and reads need no token (on loopback). */
  tokens?: AdminTokens;
  /** Reads need a token: the admin address is not loopback (serve.ts decides). */
  readsNeedToken?: boolean;
  limits?: Partial<AdminLimits>;
  /** Where audit lines go. */
  log?: Logger;
  now?: () => number;
}

export class AdminAuth {
  readonly #limiter: AuthFailureLimiter;
  /** The token each request authenticated with, for its audit line. */
  readonly #names = new WeakMap<IncomingMessage, string>();

  constructor(private readonly o: AdminAuthOptions = {}) {
    this.#limiter = new AuthFailureLimiter({ ...defaultAdminLimits, ...o.limits }, o.now);
  }

  get readsNeedToken(): boolean {
    return this.o.readsNeedToken === true;
  }

  /** Whether a request may do what `need` says; a failed authentication is counted against its address. */
  check(req: IncomingMessage, need: Scope): Granted | Refusal {
    // An empty header is no header (some clients send one when their token variable is empty).
    const header = req.headers.authorization?.trim() || undefined;
    // On loopback a read needs no token; one presented is checked, unless there are none to check it against.
    if (need === "read" && !this.readsNeedToken && (header === undefined || this.o.tokens === undefined)) return { granted: true };
    const address = remoteAddress(req);
    const wait = this.#limiter.blockedFor(address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      return refusal(
        "XDSD_HTTP_TOO_MANY_FAILURES",
        `${this.#limits().maxAuthFailures} requests from ${address} presented no token or a wrong one within ${this.#limits().authFailureWindowMs / 1000} s; try again in ${seconds} s with a token of --admin-token-file`,
        { "retry-after": String(seconds) },
      );
    }
    const tokens = this.o.tokens;
    if (tokens === undefined || (need === "write" && !tokens.tokens.some((t) => t.scope === "write"))) {
      return need === "write"
        ? refusal("XDSD_HTTP_WRITES_DISABLED", "start xdsd with --admin-token-file holding a write token to enable writes")
        : refusal("XDSD_HTTP_READS_DISABLED", "the admin address is not loopback, so reads need a token: start xdsd with --admin-token-file");
    }
    const presented = /^Bearer +(\S+) *$/.exec(header ?? "")?.[1];
    const token = presented === undefined ? undefined : tokens.match(presented);
    if (token === undefined) {
      this.#limiter.fail(address);
      let detail = "the token of Authorization: Bearer is not one of --admin-token-file (a rotated file applies at once: the old token stops)";
      if (presented === undefined && need === "write") detail = "writes need Authorization: Bearer <a write token of --admin-token-file>";
      else if (presented === undefined && this.readsNeedToken) {
        detail = "reads on a non-loopback admin address need Authorization: Bearer <a read or write token of --admin-token-file>";
      } else if (presented === undefined)
        detail = "the Authorization header is not Bearer <token>: send a token of --admin-token-file that way, or no Authorization header";
      return refusal("XDSD_HTTP_UNAUTHORIZED", detail, { "www-authenticate": 'Bearer realm="xdsd"' });
    }
    this.#names.set(req, token.name);
    if (need === "write" && token.scope !== "write") {
      return refusal("XDSD_HTTP_FORBIDDEN", `the token "${token.name}" is a read token; writes need a token with the scope write`);
    }
    return { granted: true, name: token.name, scope: token.scope };
  }

  /** `check`, answering a refusal itself (as a problem detail): the one call a route makes. Whether it may go on. */
  require(req: IncomingMessage, res: ServerResponse, need: Scope): boolean {
    const result = this.check(req, need);
    if (result.granted) return true;
    req.resume();
    const text = problemText(result.problem);
    res.writeHead(result.problem.status, { ...result.headers, "content-type": problemContentType, "content-length": Buffer.byteLength(text) });
    res.end(text);
    return false;
  }

  /** The name of the token `req` authenticated with, if it did (for the change history: never the token). */
  nameOf(req: IncomingMessage): string | undefined {
    return this.#names.get(req);
  }

  /**
   * Logs the request, once answered, as an audit line: the token's name (never the token), method, target, status,
   * remote address. Called for every write, granted or not.
   */
  audit(req: IncomingMessage, res: ServerResponse): void {
    const log = this.o.log;
    if (!log) return;
    // Read now: by 'finish' node may have let the socket go (a 413 answered before the body was read closes it, and
    // req.socket is null then) — reading it there threw out of the event handler and ended the daemon.
    const remote = remoteAddress(req);
    res.once("finish", () => {
      log.info(`audit: token=${this.#names.get(req) ?? "-"} method=${req.method} path=${JSON.stringify(req.url)} status=${res.statusCode} remote=${remote}`);
    });
  }

  #limits(): AdminLimits {
    return { ...defaultAdminLimits, ...this.o.limits };
  }
}

function refusal(code: ProblemCode, detail: string, headers: Record<string, string> = {}): Refusal {
  return { granted: false, problem: problemDetails(code, detail), headers };
}

/** The client's address, an IPv4-mapped IPv6 address as IPv4. */
function remoteAddress(req: IncomingMessage): string {
  const a = req.socket?.remoteAddress ?? "unknown";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
