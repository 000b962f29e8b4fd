// The `xdsd` commands that drive a running daemon through its write API (admin/write-api.ts):
//   xdsd endpoints add|remove|drain CLUSTER HOST:PORT [--weight N]   register, deregister, mark DRAINING
//   xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml]
//   xdsd get endpoints [CLUSTER] [-o table|json|yaml]                the registrations, of every cluster or one
// Every command takes --admin URL (default: defaultAdminUrl, default-ports.ts; https:// with --admin-ca, --admin-cert,
// --admin-key) and --token-file FILE (default $XDSD_ADMIN_TOKEN_FILE): writes need a write token, reads a token
// when the admin address is not loopback. An API error is printed as its problem detail, every issue on a line; exit 1.
import { parseCommandLine } from "./command-line.js";
import { stringify } from "yaml";
import { durationMs } from "../config/duration.js";
import { BadArgumentError, formatLocation, type SourceLocation } from "../errors.js";
import { collectionKinds, objectKindTable } from "../store/store.js";
import { adminDescription, adminOptions, adminSynopsis, adminTarget, call, fail, failed, rolloutFailure, type Reply } from "./admin-client.js";
import type { CommandUsage } from "./usage.js";

export const apiCommandUsage: Record<"endpoints" | "get", CommandUsage> = {
  endpoints: {
    synopsis: `xdsd endpoints add|remove|drain CLUSTER HOST:PORT [--weight N] [--ttl 30s] [--timeout 10s] [--no-wait]
               ${adminSynopsis}`,
    description: `Register an endpoint with a running xdsd (add; --weight; --ttl: deregistered unless added again within that
time), deregister it (remove), or mark it DRAINING so that it gets no new requests (drain). Each returns once
every connected proxy the change concerns has ACKed it (--timeout; --no-wait: once it is published); exit 3
if one did not, naming it. Writes need a write token of the daemon: --token-file or $XDSD_ADMIN_TOKEN_FILE.
${adminDescription}`,
  },
  get: {
    synopsis: `xdsd get clusters|listeners|resources|node-groups [-o table|json|yaml] ${adminSynopsis}
xdsd get endpoints [CLUSTER] [-o table|json|yaml] ${adminSynopsis}`,
    description: `What the store of a running xdsd holds (the objects written through the API), with revisions. Clusters
include the file's clusters that have endpoints registered through the API; endpoints are those registrations
(xdsd endpoints add), of every cluster or of CLUSTER.
${adminDescription}`,
  },
};

export async function runEndpoints(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      ...adminOptions,
      weight: { type: "string" },
      ttl: { type: "string" },
      timeout: { type: "string", default: "10s" },
      "no-wait": { type: "boolean" },
    },
  });
  const [action, cluster, endpoint] = positionals;
  if (action !== undefined && !["add", "remove", "drain"].includes(action)) throw new BadArgumentError(`"${action}": expected add, remove or drain`);
  if (!action || !cluster || !endpoint)
    throw new BadArgumentError(`expected ${["an action", "a cluster", "an endpoint HOST:PORT"].slice(positionals.length).join(", then ")}`);
  if (positionals.length > 3) throw new BadArgumentError(`unexpected "${positionals[3]}" after the endpoint`);
  const path = `/v1/clusters/${encodeURIComponent(cluster)}/endpoints/${encodeURIComponent(endpoint)}`;
  const timeoutMs = durationMs(values.timeout);
  if (timeoutMs === undefined) throw new BadArgumentError(`--timeout "${values.timeout}": expected seconds, like 10s`);
  const query = values["no-wait"] ? "" : `?wait=acked&timeout=${values.timeout}`;
  // The HTTP request outlives the wait it asks for.
  const httpTimeoutMs = timeoutMs + 30_000;
  const admin = adminTarget(values);
  let reply: Reply;
  if (action === "remove") reply = await call(admin, "DELETE", path + query, undefined, httpTimeoutMs);
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
      const current = await call(admin, "GET", path);
      if (current.status !== 200) return fail(current);
      const { cluster: _c, endpoint: _e, revision: _r, address: _a, port: _p, expires_at: _x, ...registered } = current.body;
      Object.assign(body, registered, { health_status: "DRAINING" });
    }
    reply = await call(admin, "PUT", path + query, body, httpTimeoutMs);
  }
  if (failed(reply)) return fail(reply);
  const unconfirmed = rolloutFailure(reply);
  if (unconfirmed !== undefined) return unconfirmed;
  const verb = { add: reply.status === 201 ? "registered" : "updated", remove: "deregistered", drain: "draining" }[action];
  process.stdout.write(`${cluster} ${endpoint} ${verb} (revision ${reply.body.revision}${rolloutSummary(reply.body.rollout as Rollout | undefined)})\n`);
  return 0;
}

/** What `?wait=acked` came to, as far as the user's message needs it (write-api.ts, observers/rollouts.ts). */
interface Rollout {
  acked: number;
}

/**
 * How the change reached the proxies, after the revision: acknowledged only when some proxy did ACK it. A change no
 * connected proxy takes — none connected, or none subscribed to the cluster's endpoints — is said so (issue 18,
 * item 18). Without a wait (--no-wait), nothing is said.
 */
function rolloutSummary(rollout: Rollout | undefined): string {
  if (rollout === undefined) return "";
  return rollout.acked > 0 ? ", acknowledged by every proxy concerned" : "; no connected proxy uses it";
}

/** What `get` lists: the API's collection path, and the key of the listing in its answer (store.ts objectKindTable). */
const kinds: Record<string, string> = Object.fromEntries(collectionKinds.map((kind) => [objectKindTable[kind].apiPath, objectKindTable[kind].plural]));

export async function runGet(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { ...adminOptions, output: { type: "string", short: "o", default: "table" } },
  });
  const [what, cluster] = positionals;
  const lists = [...Object.keys(kinds), "endpoints"].join(", ");
  if (!what) throw new BadArgumentError(`expected what to list: ${lists}`);
  if (!(what in kinds) && what !== "endpoints") throw new BadArgumentError(`"${what}" is not something get lists: ${lists}`);
  if (positionals.length > (what === "endpoints" ? 2 : 1)) throw new BadArgumentError(`unexpected "${positionals.at(-1)}" after ${what}`);
  if (!["table", "json", "yaml"].includes(values.output!)) throw new BadArgumentError(`-o "${values.output}": expected table, json or yaml`);
  const admin = adminTarget(values);
  let items: Record<string, unknown>[];
  if (what === "endpoints") {
    // The registrations are listed with their clusters: every cluster that has some, or the one asked for.
    const path = cluster === undefined ? "/v1/clusters" : `/v1/clusters/${encodeURIComponent(cluster)}`;
    const reply = await call(admin, "GET", path);
    if (failed(reply)) return fail(reply);
    const clusters = cluster === undefined ? ((reply.body.clusters as Record<string, unknown>[]) ?? []) : [reply.body];
    items = clusters.flatMap((c) =>
      ((c.endpoints as Registration[] | undefined) ?? []).map((e) => ({ cluster: c.name, endpoint: e.endpoint, revision: e.revision, ...e.value })),
    );
  } else {
    const reply = await call(admin, "GET", `/v1/${what}`);
    if (failed(reply)) return fail(reply);
    items = (reply.body[kinds[what]] as Record<string, unknown>[]) ?? [];
  }
  if (values.output === "json") process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  else if (values.output === "yaml") process.stdout.write(stringify(items));
  else process.stdout.write(table(what, items));
  return 0;
}

/** An endpoint registered through the API, as the API lists it with its cluster. */
interface Registration {
  endpoint: string;
  revision: number;
  value: Record<string, unknown>;
}

/** A column of a table: its header, and its cell for an item (`-` where the item has nothing to say). */
type Column = [header: string, cell: (item: Record<string, unknown>) => unknown];

const columns: Record<string, Column[]> = {
  clusters: [
    ["NAME", (i) => i.name],
    ["REVISION", (i) => i.revision],
    ["API ENDPOINTS", (i) => (i.endpoints as unknown[] | undefined)?.length ?? 0],
    // A file's cluster is listed for the endpoints registered into it; the file, not the API, defines it.
    ["MANAGED BY", (i) => (i.managedBy === "file" ? formatLocation(i.location as SourceLocation) : i.managedBy)],
  ],
  endpoints: [
    ["CLUSTER", (i) => i.cluster],
    ["ENDPOINT", (i) => i.endpoint],
    ["REVISION", (i) => i.revision],
    ["WEIGHT", (i) => i.weight],
    ["HEALTH", (i) => i.health_status],
    ["EXPIRES", (i) => i.expires_at],
  ],
};

function table(what: string, items: Record<string, unknown>[]): string {
  const cols = columns[what] ?? columns.clusters.slice(0, 2);
  const rows = items.map((i) => cols.map(([, cell]) => String(cell(i) ?? "-")));
  const header = cols.map(([h]) => h);
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
