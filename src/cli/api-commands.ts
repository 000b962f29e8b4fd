// The `xdsd` commands that drive a running daemon through its write API (admin/write-api.ts):
//   xdsd endpoints add|remove|drain CLUSTER HOST:PORT [--weight N]   register, deregister, mark DRAINING
//   xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml]
// Every command takes --admin URL (default http://127.0.0.1:18001) and, for writes, --token-file FILE (default
// $XDSD_ADMIN_TOKEN_FILE). An API error is printed as its problem detail, every issue on a line; exit 1.
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { BadArgumentError } from "../errors.js";

export const apiCommandUsage = {
  endpoints: `  xdsd endpoints add|remove|drain CLUSTER HOST:PORT [--weight N] [--admin URL] [--token-file FILE]
      Register an endpoint with a running xdsd (add; --weight), deregister it (remove), or mark it DRAINING so that
      it gets no new requests (drain). Writes need the daemon's token: --token-file or $XDSD_ADMIN_TOKEN_FILE.`,
  get: `  xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml] [--admin URL]
      What the store of a running xdsd holds (the objects written through the API), with revisions.`,
};

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

const common = {
  admin: { type: "string", default: "http://127.0.0.1:18001" },
  "token-file": { type: "string" },
} as const;

export async function runEndpoints(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...common, weight: { type: "string" } } });
  const [action, cluster, endpoint] = positionals;
  if (!["add", "remove", "drain"].includes(action ?? "") || !cluster || !endpoint || positionals.length !== 3) {
    throw new BadArgumentError("expected: xdsd endpoints add|remove|drain CLUSTER HOST:PORT");
  }
  const path = `/v1/clusters/${encodeURIComponent(cluster)}/endpoints/${encodeURIComponent(endpoint)}`;
  const token = readToken(values["token-file"]);
  let reply: Reply;
  if (action === "remove") reply = await call(values.admin, "DELETE", path, token);
  else {
    const body: Record<string, unknown> = {};
    if (values.weight !== undefined) {
      const weight = Number(values.weight);
      if (!Number.isInteger(weight) || weight < 1) throw new BadArgumentError(`--weight "${values.weight}": expected a whole number of at least 1`);
      body.weight = weight;
    }
    if (action === "drain") {
      // Keep what the endpoint was registered with; only its health changes.
      const current = await call(values.admin, "GET", path, undefined);
      if (current.status !== 200) return fail(current);
      const { cluster: _c, endpoint: _e, revision: _r, address: _a, port: _p, ...registered } = current.body;
      Object.assign(body, registered, { health_status: "DRAINING" });
    }
    reply = await call(values.admin, "PUT", path, token, body);
  }
  if (failed(reply)) return fail(reply);
  const verb = { add: reply.status === 201 ? "registered" : "updated", remove: "deregistered", drain: "draining" }[action];
  process.stdout.write(`${cluster} ${endpoint} ${verb} (revision ${reply.body.revision})\n`);
  return 0;
}

const kinds: Record<string, string> = { clusters: "clusters", listeners: "listeners", resources: "resources", "node-groups": "node_groups" };

export async function runGet(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { admin: common.admin, output: { type: "string", short: "o", default: "table" } },
  });
  const [what] = positionals;
  if (!what || !(what in kinds) || positionals.length !== 1) throw new BadArgumentError(`expected: xdsd get ${Object.keys(kinds).join("|")}`);
  if (!["table", "json", "yaml"].includes(values.output!)) throw new BadArgumentError(`-o "${values.output}": expected table, json or yaml`);
  const reply = await call(values.admin, "GET", `/v1/${what}`, undefined);
  if (failed(reply)) return fail(reply);
  const items = (reply.body[kinds[what]] as Record<string, unknown>[]) ?? [];
  if (values.output === "json") process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  else if (values.output === "yaml") process.stdout.write(stringify(items));
  else process.stdout.write(table(what, items));
  return 0;
}

function table(what: string, items: Record<string, unknown>[]): string {
  const rows = items.map((i) => [
    String(i.name),
    String(i.revision),
    ...(what === "clusters" ? [String((i.endpoints as unknown[] | undefined)?.length ?? 0)] : []),
  ]);
  const header = ["NAME", "REVISION", ...(what === "clusters" ? ["API ENDPOINTS"] : [])];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [header, ...rows]
    .map(
      (r) =>
        `${r
          .map((cell, c) => cell.padEnd(widths[c]))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
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
function failed(reply: Reply): boolean {
  return reply.status === 0 || reply.status >= 400;
}

/** An API error as the user reads it: the problem's title and detail, then each issue with where it is. */
function fail(reply: Reply): number {
  const { title, detail, errors } = reply.body as { title?: string; detail?: string; errors?: { location?: string; message: string }[] };
  process.stderr.write(`xdsd: ${reply.status ? `${reply.status} ` : ""}${title ?? ""}: ${detail ?? JSON.stringify(reply.body)}\n`);
  for (const e of errors ?? []) process.stderr.write(`  ${e.location ? `${e.location}: ` : ""}${e.message}\n`);
  return 1;
}

function call(admin: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  let url: URL;
  try {
    url = new URL(path, admin);
  } catch {
    throw new BadArgumentError(`--admin "${admin}": expected a URL such as http://127.0.0.1:18001`);
  }
  return new Promise((resolve) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = request(url, { method, headers, agent: false, timeout: 30_000 }, (res) => {
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
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
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
