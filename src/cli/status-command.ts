// `xdsd status [NODE_ID] [-o table|json] [--admin URL]`: what each connected proxy holds and whether it took it, as
// `istioctl proxy-status` says it for Istio — one row per proxy, per type SYNCED, STALE (sent, not ACKed yet, for
// how long), NACKED (the first line of its error) or NOT SENT; with NODE_ID, that proxy's resources one per line.
// Read from a running xdsd's CSDS (POST /v3/discovery:client_status on the admin port) and its /nodes (streams,
// protocol, identity), so it says what xdsd's client state says, nothing rebuilt.
import { parseCommandLine } from "./command-line.js";
import { BadArgumentError } from "../errors.js";
import { adminDescription, adminOptions, adminSynopsis, adminTarget, call, fail, failed } from "./admin-client.js";
import type { CommandUsage } from "./usage.js";
import { findResourceType, resourceTypes } from "../resource/types.js";
import { diffText, fetchDiff, runVersionStatus } from "./status-convergence.js";

export const statusUsage: CommandUsage = {
  synopsis: `xdsd status [NODE_ID | --version V] [-o table|json] ${adminSynopsis}`,
  description: `What each proxy connected to a running xdsd holds, per type: SYNCED (ACKed what it was sent), STALE (sent,
not ACKed yet, and for how long), NACKED (rejected it: the first line of its error), NOT SENT (asked, nothing to
send). With NODE_ID (the node id, or cluster/id), that proxy's resources, one per line, and per type what it holds
against what xdsd would send it now (changed, to send, to remove). --version V: how many of the proxies V concerns
hold it, and which do not (exit 1 if some do not); V is the config version served (GET /config), a write API
revision, or a type's version in GET /config (docs/status-and-loads.md). -o json: the same as data.
${adminDescription}`,
};

/** A CSDS GenericXdsConfig as proto3 JSON. */
interface ResourceStatus {
  typeUrl: string;
  name: string;
  versionInfo?: string;
  lastUpdated?: string;
  configStatus?: string;
  clientStatus?: string;
  errorState?: { details?: string };
}

interface NodeRow {
  node: string;
  cluster: string;
  id: string;
  identity?: string;
  streams: number;
  services: Record<string, number>;
  types: Record<string, string>;
}

/** Types as /nodes and metrics name them (`cds`, `eds`…), in the registry's ADS order. */
const typeOrder = [...resourceTypes].sort((a, b) => a.pushOrder - b.pushOrder).map((t) => t.short);
const shortOf = (typeUrl: string) => findResourceType(typeUrl)?.short ?? typeUrl;

export async function runStatus(args: string[], now = Date.now()): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: { ...adminOptions, output: { type: "string", short: "o", default: "table" }, version: { type: "string" } },
  });
  const output = values.output!;
  if (output !== "table" && output !== "json") throw new BadArgumentError(`-o "${output}": expected table or json`);
  if (positionals.length > 1) throw new BadArgumentError(`unexpected "${positionals[1]}" after the node id`);
  if (values.version !== undefined) {
    if (positionals.length > 0) throw new BadArgumentError(`--version asks about every proxy; give it without a node id ("${positionals[0]}")`);
    return runVersionStatus(adminTarget(values), values.version, output);
  }
  const wanted = positionals[0];
  const admin = adminTarget(values);
  const csds = await call(admin, "POST", "/v3/discovery:client_status", {});
  if (failed(csds)) return fail(csds);
  const nodes = await call(admin, "GET", "/nodes?limit=1000");
  if (failed(nodes)) return fail(nodes);
  const streams = new Map(
    ((nodes.body.nodes ?? []) as { node: string; identity?: string; streams: number; services: Record<string, number> }[]).map((n) => [n.node, n]),
  );
  const configs = ((csds.body.config ?? []) as { node?: { id?: string; cluster?: string }; genericXdsConfigs?: ResourceStatus[] }[]).filter(
    (c) => wanted === undefined || c.node?.id === wanted || `${c.node?.cluster}/${c.node?.id}` === wanted,
  );
  if (wanted !== undefined && configs.length === 0) {
    process.stderr.write(`xdsd: no connected proxy has node id "${wanted}"; \`xdsd status\` lists those that are\n`);
    return 1;
  }
  const rows: NodeRow[] = configs.map((c) => {
    const key = `${c.node?.cluster ?? ""}/${c.node?.id ?? ""}`;
    const s = streams.get(key);
    return {
      node: key,
      cluster: c.node?.cluster ?? "",
      id: c.node?.id ?? "",
      ...(s?.identity ? { identity: s.identity } : {}),
      streams: s?.streams ?? 0,
      services: s?.services ?? {},
      types: typeStatuses(c.genericXdsConfigs ?? [], now),
    };
  });
  // One proxy: what it holds against what it would be sent now (it may have left since CSDS was asked).
  const diff = wanted === undefined ? undefined : await fetchDiff(admin, rows[0].node);
  if (output === "json") {
    const detail = wanted === undefined ? {} : { resources: configs[0].genericXdsConfigs ?? [], ...(diff ? { diff } : {}) };
    process.stdout.write(`${JSON.stringify(wanted === undefined ? { proxies: rows } : { ...rows[0], ...detail }, null, 2)}\n`);
    return 0;
  }
  if (wanted !== undefined) {
    process.stdout.write(resourceTable(configs[0].genericXdsConfigs ?? [], now));
    if (diff) process.stdout.write(`\n${diffText(diff, typeOrder)}`);
    return 0;
  }
  const types = typeOrder.filter((t) => rows.some((r) => r.types[t] !== undefined));
  const table = [
    ["NODE", "IDENTITY", "STREAMS", ...types.map((t) => t.toUpperCase())],
    ...rows.map((r) => [
      r.node,
      r.identity ?? "-",
      Object.entries(r.services)
        .map(([service, n]) => (n > 1 ? `${service}×${n}` : service))
        .join(","),
      ...types.map((t) => r.types[t] ?? "-"),
    ]),
  ];
  process.stdout.write(rows.length === 0 ? "no proxy is connected\n" : columns(table));
  return 0;
}

/** Per type, the worst of its resources: NACKED, then STALE, then NOT SENT; SYNCED when all are. */
function typeStatuses(resources: readonly ResourceStatus[], now: number): Record<string, string> {
  const out: Record<string, string> = {};
  const rank = (s: string) => (s.startsWith("NACKED") ? 3 : s.startsWith("STALE") ? 2 : s === "NOT SENT" ? 1 : 0);
  for (const r of resources) {
    const type = shortOf(r.typeUrl);
    const s = statusWord(r, now);
    if (out[type] === undefined || rank(s) > rank(out[type])) out[type] = s;
  }
  return out;
}

function statusWord(r: ResourceStatus, now: number): string {
  if (r.clientStatus === "NACKED") return `NACKED: ${firstLine(r.errorState?.details ?? "")}`;
  if (r.configStatus === "STALE") {
    const since = r.lastUpdated ? Math.max(0, Math.round((now - Date.parse(r.lastUpdated)) / 1000)) : undefined;
    return since === undefined ? "STALE" : `STALE ${since}s`;
  }
  if (r.configStatus === "NOT_SENT") return r.clientStatus === "DOES_NOT_EXIST" ? "NOT SENT (does not exist)" : "NOT SENT";
  return "SYNCED";
}

function resourceTable(resources: readonly ResourceStatus[], now: number): string {
  const sorted = [...resources].sort((a, b) => typeOrder.indexOf(shortOf(a.typeUrl)) - typeOrder.indexOf(shortOf(b.typeUrl)) || (a.name < b.name ? -1 : 1));
  return columns([["TYPE", "NAME", "VERSION", "STATUS"], ...sorted.map((r) => [shortOf(r.typeUrl), r.name, r.versionInfo || "-", statusWord(r, now)])]);
}

function columns(table: string[][]): string {
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  return `${table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join("\n")}\n`;
}

/**
 * The first line of a proxy's error that says what is wrong. Envoy's validation errors quote the rejected resource
 * first, as protobuf text — behind a marker line (`goo.gle/debugstr`: protobuf's warning not to parse it), one
 * `field: value` or `field {` per line — and say why after it, on a line starting ": ": skip the quote.
 */
export function firstLine(details: string): string {
  const lines = details.split("\n").map((l) => l.trim());
  const quoted = (l: string) => l === "" || l === "}" || l.startsWith("goo.gle/debug") || /^[A-Za-z_][\w.]*(\s*\{|:\s)/.test(l);
  const said = lines.find((l) => !quoted(l));
  return (said ?? lines[0] ?? "").replace(/^:\s*/, "");
}
