// `xdsd status NODE_ID`'s diff (what the proxy holds against what xdsd would send now, from GET /nodes/{node}) and
// `xdsd status --version V`: of the proxies a version concerns, which hold it. V is one of
//   - the config version being served (GET /config `config.version`), or a write API revision up to the one served
//     (GET /v1/clusters `revision`): it concerns every connected proxy, and a proxy holds it when it is in sync with
//     what is served (which includes every revision up to the served one) — every type ACKed, nothing changed,
//     missing or extra;
//   - a type's version in a node group (GET /config: `default` or `nodes.<group>`, `<type>.version`): it concerns the
//     proxies of that group subscribed to that type, and a proxy holds it when it ACKed a response of that version.
// An older config version is not kept anywhere: it cannot be asked about.
import { BadArgumentError } from "../errors.js";
import type { NodeDiff, TypeDiff } from "../server/node-diff.js";
import { call, fail, failed, type AdminTarget } from "./admin-client.js";

/** Nodes per page of /nodes?diff=true: each page is computed in one turn of the daemon's event loop, so not 1,000. */
const diffPage = 200;

/** The diff section of `xdsd status NODE_ID`: a line per type, in the order given. */
export function diffText(diff: NodeDiff, typeOrder: readonly string[]): string {
  const lines = [diff.in_sync ? "in sync with what xdsd serves now" : "differs from what xdsd would send now:"];
  const types = Object.keys(diff.types).sort((a, b) => typeOrder.indexOf(a) - typeOrder.indexOf(b));
  for (const type of types) lines.push(`  ${type}: ${typeDiffText(diff.types[type])}`);
  return `${lines.join("\n")}\n`;
}

function typeDiffText(t: TypeDiff): string {
  const held = t.resources.filter((r) => r.held !== undefined).length;
  if (t.in_sync) return `in sync (${held} resource${held === 1 ? "" : "s"}, version ${t.sent_version || "-"})`;
  const parts: string[] = [];
  if (t.status === "NACKED") parts.push(`NACKED version ${t.sent_version}, keeps ${t.kept_version || "nothing"}`);
  if (t.status === "STALE") parts.push(`version ${t.sent_version} sent, not ACKed yet`);
  const byName = new Map(t.resources.map((r) => [r.name, r]));
  if (t.changed.length) parts.push(`changed ${t.changed.map((n) => `${n} (${byName.get(n)?.held} → ${byName.get(n)?.current})`).join(", ")}`);
  if (t.missing.length) parts.push(`to send ${t.missing.join(", ")}`);
  if (t.extra.length) parts.push(`to remove ${t.extra.join(", ")}`);
  return parts.join("; ");
}

/** Why a proxy does not hold what is served, in a few words. */
function notInSync(diff: NodeDiff): string {
  return Object.entries(diff.types)
    .filter(([, t]) => !t.in_sync)
    .map(([type, t]) => `${type} ${typeDiffText(t)}`)
    .join("; ");
}

/** The diff of one node, or undefined when it is not connected (any other failure is thrown). */
export async function fetchDiff(admin: AdminTarget, node: string): Promise<NodeDiff | undefined> {
  const reply = await call(admin, "GET", `/nodes/${encodeURIComponent(node)}`);
  if (reply.status === 404) return undefined;
  if (failed(reply)) throw new Error(`GET /nodes/${node}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as unknown as NodeDiff;
}

interface ConfigView {
  config?: { version?: string };
  default: Record<string, { version: string }> | null;
  nodes: Record<string, Record<string, { version: string }>>;
}

interface ProxyVerdict {
  node: string;
  holds: boolean;
  /** What it holds instead, when it does not. */
  why?: string;
}

/** `xdsd status --version V [-o table|json]`: exit 0 when every concerned proxy holds V, 1 when some do not. */
export async function runVersionStatus(admin: AdminTarget, version: string, output: "table" | "json"): Promise<number> {
  const config = await call(admin, "GET", "/config");
  if (failed(config)) return fail(config);
  const view = config.body as unknown as ConfigView;
  const clusters = await call(admin, "GET", "/v1/clusters");
  const revision = clusters.status === 200 ? Number(clusters.body.revision) : undefined;
  // Which proxies V concerns, and what holding it means for one.
  let kind: string;
  let concerns: (diff: NodeDiff) => boolean;
  let holds: (diff: NodeDiff) => ProxyVerdict["why"] | true;
  const inSync = (d: NodeDiff) => d.in_sync || notInSync(d);
  const groups = typeVersionGroups(view, version);
  if (version === view.config?.version) {
    kind = "the config being served";
    concerns = () => true;
    holds = inSync;
  } else if (/^\d+$/.test(version) && revision !== undefined) {
    if (Number(version) > revision)
      throw new BadArgumentError(`--version ${version}: the write API serves revision ${revision}; revision ${version} is not served (yet)`);
    kind = `write API revision ${version} (revision ${revision} served)`;
    concerns = () => true;
    holds = inSync;
  } else if (groups.length > 0) {
    const byGroup = new Map(groups.map((g) => [g.group, g.type]));
    const groupOf = (d: NodeDiff) => (d.nodeKey in view.nodes ? d.nodeKey : "");
    kind = `the ${[...new Set(groups.map((g) => g.type))].join(", ")} version of ${groups.map((g) => (g.group ? `node group ${g.group}` : "the default config")).join(", ")}`;
    concerns = (d) => {
      const type = byGroup.get(groupOf(d));
      return type !== undefined && d.types[type] !== undefined;
    };
    holds = (d) => {
      const t = d.types[byGroup.get(groupOf(d))!];
      return (
        (t.status === "ACKED" && t.sent_version === version) ||
        `${byGroup.get(groupOf(d))} ${t.status === "NACKED" ? `keeps ${t.kept_version || "nothing"}` : `${t.status} ${t.sent_version}`}`
      );
    };
  } else {
    const served = [view.config?.version && `config ${view.config.version}`, revision !== undefined && `write API revision ${revision}`]
      .filter(Boolean)
      .join(", ");
    throw new BadArgumentError(
      `--version ${version}: neither the config version served (${served || "none"}), a write API revision up to the served one, nor a type's version in GET /config; ` +
        "an older config version is not kept: ask about the current one",
    );
  }
  const verdicts: ProxyVerdict[] = [];
  for (const diff of await allDiffs(admin)) {
    if (!concerns(diff)) continue;
    const h = holds(diff);
    verdicts.push(h === true ? { node: diff.node, holds: true } : { node: diff.node, holds: false, why: h });
  }
  const holding = verdicts.filter((v) => v.holds).length;
  if (output === "json") {
    process.stdout.write(`${JSON.stringify({ version, kind, concerned: verdicts.length, holding, proxies: verdicts }, null, 2)}\n`);
  } else {
    const lines = [`${version} (${kind}): ${holding} of ${verdicts.length} proxies hold it`];
    for (const v of verdicts.filter((x) => !x.holds)) lines.push(`  ${v.node}: ${v.why}`);
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return holding === verdicts.length ? 0 : 1;
}

/** The node groups (`""`: the default config) in which some type has version `version`, with that type. */
function typeVersionGroups(view: ConfigView, version: string): { group: string; type: string }[] {
  const out: { group: string; type: string }[] = [];
  const groups: [string, Record<string, { version: string }> | null][] = [["", view.default], ...Object.entries(view.nodes)];
  for (const [group, types] of groups) {
    for (const [type, t] of Object.entries(types ?? {})) if (t.version === version) out.push({ group, type });
  }
  return out;
}

/** Every connected node's diff: /nodes with their diffs, a page at a time. */
async function allDiffs(admin: AdminTarget): Promise<NodeDiff[]> {
  const diffs: NodeDiff[] = [];
  let after: string | undefined;
  do {
    const page = await call(admin, "GET", `/nodes?diff=true&limit=${diffPage}${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`);
    if (failed(page)) throw new Error(`GET /nodes: ${page.status} ${JSON.stringify(page.body)}`);
    diffs.push(...(page.body.diffs as unknown as NodeDiff[]));
    after = page.body.next as string | undefined;
  } while (after !== undefined);
  // In node order: the pages come sorted by node (NodeStatuses.page), and each page's diffs in its order.
  return diffs;
}
