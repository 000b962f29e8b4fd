// The `xdsd` commands that drive a running daemon through its write API (admin/write-api.ts):
//   xdsd endpoints add|remove|drain CLUSTER HOST:PORT [--weight N]   register, deregister, mark DRAINING
//   xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml]
// Every command takes --admin URL (default http://127.0.0.1:18001) and, for writes, --token-file FILE (default
// $XDSD_ADMIN_TOKEN_FILE). An API error is printed as its problem detail, every issue on a line; exit 1.
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { BadArgumentError } from "../errors.js";
import { call, fail, failed, readToken, rolloutFailure, type Reply } from "./admin-client.js";

export const apiCommandUsage = {
  endpoints: `  xdsd endpoints add|remove|drain CLUSTER HOST:PORT [--weight N] [--ttl 30s] [--timeout 10s] [--no-wait]
                 [--admin URL] [--token-file FILE]
      Register an endpoint with a running xdsd (add; --weight; --ttl: deregistered unless added again within that
      time), deregister it (remove), or mark it DRAINING so that it gets no new requests (drain). Each returns once
      every connected proxy the change concerns has ACKed it (--timeout; --no-wait: once it is published); exit 3
      if one did not, naming it. Writes need the daemon's token: --token-file or $XDSD_ADMIN_TOKEN_FILE.`,
  get: `  xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml] [--admin URL]
      What the store of a running xdsd holds (the objects written through the API), with revisions.`,
};

const common = {
  admin: { type: "string", default: "http://127.0.0.1:18001" },
  "token-file": { type: "string" },
} as const;

export async function runEndpoints(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...common, weight: { type: "string" }, ttl: { type: "string" }, timeout: { type: "string", default: "10s" }, "no-wait": { type: "boolean" } },
  });
  const [action, cluster, endpoint] = positionals;
  if (!["add", "remove", "drain"].includes(action ?? "") || !cluster || !endpoint || positionals.length !== 3) {
    throw new BadArgumentError("expected: xdsd endpoints add|remove|drain CLUSTER HOST:PORT");
  }
  const path = `/v1/clusters/${encodeURIComponent(cluster)}/endpoints/${encodeURIComponent(endpoint)}`;
  if (!/^\d+(\.\d+)?s$/.test(values.timeout!)) throw new BadArgumentError(`--timeout "${values.timeout}": expected seconds, like 10s`);
  const query = values["no-wait"] ? "" : `?wait=acked&timeout=${values.timeout}`;
  // The HTTP request outlives the wait it asks for.
  const httpTimeoutMs = Number(values.timeout!.slice(0, -1)) * 1000 + 30_000;
  const token = readToken(values["token-file"]);
  let reply: Reply;
  if (action === "remove") reply = await call(values.admin, "DELETE", path + query, token, undefined, httpTimeoutMs);
  else {
    const body: Record<string, unknown> = {};
    if (values.weight !== undefined) {
      const weight = Number(values.weight);
      if (!Number.isInteger(weight) || weight < 1) throw new BadArgumentError(`--weight "${values.weight}": expected a whole number of at least 1`);
      body.weight = weight;
    }
    if (values.ttl !== undefined) body.ttl = values.ttl;
    if (action === "drain") {
      // Keep what the endpoint was registered with; only its health changes.
      const current = await call(values.admin, "GET", path, undefined);
      if (current.status !== 200) return fail(current);
      const { cluster: _c, endpoint: _e, revision: _r, address: _a, port: _p, expires_at: _x, ...registered } = current.body;
      Object.assign(body, registered, { health_status: "DRAINING" });
    }
    reply = await call(values.admin, "PUT", path + query, token, body, httpTimeoutMs);
  }
  if (failed(reply)) return fail(reply);
  const unconfirmed = rolloutFailure(reply);
  if (unconfirmed !== undefined) return unconfirmed;
  const verb = { add: reply.status === 201 ? "registered" : "updated", remove: "deregistered", drain: "draining" }[action];
  const acked = reply.body.rollout ? ", acknowledged by every proxy concerned" : "";
  process.stdout.write(`${cluster} ${endpoint} ${verb} (revision ${reply.body.revision}${acked})\n`);
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
