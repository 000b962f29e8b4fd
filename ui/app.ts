// The xdsd dashboard (issue 22): Fleet, one proxy, Clusters, Changes. Preact + htm (no JSX step), uPlot for the plots,
// bundled by scripts/build.mjs (esbuild) into dist/ui/ and served by the daemon at /ui/ (src/admin/ui-routes.ts). It
// reads the admin API it shows: /nodes, /config, CSDS JSON, /v1/…, /loads; and follows /ui/events to stay live.
import { h, render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import htm from "htm";
import uPlot from "uplot";
import { lineDiff } from "./diff.js";
import type { NodeStatus, TypeStatus } from "../src/server/node-status-json.js";
import type { ChangeEntry } from "../src/daemon/change-entry-json.js";

const html = htm.bind(h);

// ---- the admin API's shapes ----------------------------------------------------------------------------------------
// /nodes and the change history come from the daemon's own modules (type-only imports, erased from the bundle; those
// modules import nothing, for this); /config's is here.
interface ServedResource {
  name: string;
  version: string;
  resource: Record<string, unknown>;
}
type SnapshotView = Record<string, { typeUrl: string; version: string; resources: ServedResource[] }>;
interface ConfigView {
  config?: { version: string };
  default: SnapshotView | null;
  nodes: Record<string, SnapshotView>;
}

// ---- fetching ---------------------------------------------------------------------------------------------------
const tokenKey = "xdsd.writeToken";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { ...init, headers: { accept: "application/json", ...(init?.headers ?? {}) } });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const b = body as { detail?: string; title?: string } | undefined;
    throw new HttpError(res.status, `${res.status}: ${b?.detail ?? b?.title ?? res.statusText}`);
  }
  return body as T;
}

/** Every connected node, a page at a time (/nodes answers at most 1,000 a page). */
async function allNodes(): Promise<NodeStatus[]> {
  const out: NodeStatus[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await getJson<{ nodes: NodeStatus[]; next?: string }>(`/nodes?limit=1000${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`);
    out.push(...page.nodes);
    if (!page.next) return out;
    after = page.next;
  }
}

// ---- the live feed: one EventSource for the page, whichever view is shown ---------------------------------------
type FeedListener = (event: string, data: unknown) => void;
const feedListeners = new Set<FeedListener>();
let feedState: "connecting" | "live" | "offline" = "connecting";
const feedStateListeners = new Set<(s: typeof feedState) => void>();

function startFeed(): void {
  const source = new EventSource("/ui/events");
  const tell = (event: string) => (e: MessageEvent) => {
    const data = e.data ? JSON.parse(e.data) : {};
    for (const l of feedListeners) l(event, data);
  };
  for (const name of ["hello", "nodes", "changes", "resync"]) source.addEventListener(name, tell(name) as EventListener);
  const set = (s: typeof feedState) => {
    feedState = s;
    for (const l of feedStateListeners) l(s);
  };
  source.addEventListener("hello", () => set("live"));
  source.onerror = () => set(source.readyState === EventSource.CLOSED ? "offline" : "connecting");
}

function useFeed(listener: FeedListener): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const l: FeedListener = (e, d) => ref.current(e, d);
    feedListeners.add(l);
    return () => feedListeners.delete(l);
  }, []);
}

function useFeedState(): typeof feedState {
  const [s, setS] = useState(feedState);
  useEffect(() => {
    feedStateListeners.add(setS);
    return () => feedStateListeners.delete(setS);
  }, []);
  return s;
}

// ---- per-type state, as CSDS's config_status reads it --------------------------------------------------------------
type SyncState = "SYNCED" | "STALE" | "NACKED" | "NOT_SENT";
interface TypeState {
  state: SyncState;
  since?: string;
  error?: string;
}

/** Per node group ("" the default), the version of each type served now (GET /ui/api/versions). */
type Served = Map<string, Record<string, string>>;

function typeState(t: TypeStatus | undefined, served?: string): TypeState {
  if (!t?.sentVersion) return { state: "NOT_SENT" };
  // A proxy that rejected a change and holds what is served again (the change was reverted) is not sent anything
  // more, so no ACK ends its NACK: it is in sync.
  if (t.lastNack && !(served !== undefined && t.lastNack.keptVersion === served)) return { state: "NACKED", since: t.lastNack.at, error: t.lastNack.message };
  if (t.lastNack) return { state: "SYNCED", since: t.ackedAt };
  if (t.ackedVersion === t.sentVersion) return { state: "SYNCED", since: t.ackedAt };
  return { state: "STALE", since: t.sentAt };
}

/** The node's worst state over its types: what the fleet's counts and the status filter go by. */
function nodeState(n: NodeStatus, types: readonly string[], served: Served): SyncState {
  const states = types.map((t) => typeState(n.types[t], servedVersion(served, n, t)).state);
  if (states.includes("NACKED")) return "NACKED";
  if (states.includes("STALE")) return "STALE";
  if (states.includes("SYNCED")) return "SYNCED";
  return "NOT_SENT";
}

function servedVersion(served: Served, n: NodeStatus, type: string): string | undefined {
  return (served.get(n.nodeKey) ?? served.get(""))?.[type];
}

async function servedVersions(): Promise<Served> {
  const v = await getJson<{ default: Record<string, string> | null; groups: Record<string, Record<string, string>> }>("/ui/api/versions");
  return new Map([...(v.default ? [["", v.default] as const] : []), ...Object.entries(v.groups)]);
}

/** ADS order first (CDS, EDS, LDS, RDS), the rest by name. */
const pushOrder = ["cds", "eds", "lds", "rds"];
function orderTypes(types: Iterable<string>): string[] {
  return [...new Set(types)].sort((a, b) => {
    const ia = pushOrder.indexOf(a);
    const ib = pushOrder.indexOf(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

const time = (iso?: string) => (iso ? new Date(iso).toLocaleTimeString() : "");
const label = (s: SyncState) => s.replace("_", " ");

function StateBadge({ s, type }: { s: TypeState; type: string }) {
  if (s.state === "NACKED") {
    return html`<details class="nack">
      <summary><span class="state NACKED" title="rejected: open to read the error">NACKED</span><span class="since">${time(s.since)}</span></summary>
      <div class="error" role="note" aria-label=${`${type} NACK error`}>${s.error}</div>
    </details>`;
  }
  return html`<span class="state ${s.state}">${label(s.state)}</span>${s.state === "STALE" ? html`<span class="since">since ${time(s.since)}</span>` : null}`;
}

// ---- Fleet --------------------------------------------------------------------------------------------------------
type SortKey = "node" | "cluster" | "identity" | "protocol" | "state";
/**
 * Rows rendered at first (and added by "Show more"): with 1,000 proxies, rendering every row took seconds of main
 * thread on a loaded 2-core machine (docs/performance.md, "The dashboard"); the counts and the filter still cover all.
 */
const rowsPerPage = 100;

function Fleet({ info }: { info: Info }) {
  const [nodes, setNodes] = useState<Map<string, NodeStatus>>(new Map());
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const [filter, setFilter] = useState("");
  const [stateFilter, setStateFilter] = useState("");
  const [sort, setSort] = useState<{ key: SortKey; asc: boolean }>({ key: "node", asc: true });
  const [limit, setLimit] = useState(rowsPerPage);
  const loading = useRef(false);

  const [served, setServed] = useState<Served>(new Map());
  const reload = useCallback(() => {
    if (loading.current) return;
    loading.current = true;
    Promise.all([allNodes(), servedVersions()])
      .then(([list, versions]) => {
        setServed(versions);
        setNodes(new Map(list.map((n) => [n.node, n])));
        setError(undefined);
        setLoaded(true);
      })
      .catch((e: Error) => setError(`cannot read /nodes: ${e.message}`))
      .finally(() => {
        loading.current = false;
      });
  }, []);
  useEffect(reload, []);
  useFeed((event, data) => {
    if (event === "hello" || event === "resync") return reload();
    if (event === "changes") void servedVersions().then(setServed, () => {});
    if (event !== "nodes") return;
    const { nodes: changed, gone } = data as { nodes: NodeStatus[]; gone: string[] };
    setNodes((old) => {
      const next = new Map(old);
      for (const n of changed) next.set(n.node, n);
      for (const id of gone) next.delete(id);
      return next;
    });
  });
  // Told once the DOM shows the update (the bench measures first render and live updates by these events).
  useEffect(() => {
    if (loaded) window.dispatchEvent(new CustomEvent("xdsd:updated", { detail: { nodes: nodes.size } }));
  }, [nodes, loaded]);

  const list = [...nodes.values()];
  const types = useMemo(() => orderTypes(list.flatMap((n) => Object.keys(n.types))), [nodes]);
  // Each node's state once per change of the nodes or of what is served, not again for each keystroke in the filter.
  const withState = useMemo(
    () => list.map((n) => ({ n, state: nodeState(n, types, served), protocol: Object.keys(n.services).sort().join(", ") })),
    [nodes, served, types],
  );
  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const shown = withState.filter(
      (r) =>
        (!stateFilter || r.state === stateFilter) &&
        (!f || [r.n.node, r.n.cluster ?? "", r.n.identity ?? "", r.protocol, r.n.nodeKey].some((v) => v.toLowerCase().includes(f))),
    );
    const value = (r: (typeof withState)[number]) =>
      sort.key === "state" ? ["NACKED", "STALE", "NOT_SENT", "SYNCED"].indexOf(r.state) : sort.key === "protocol" ? r.protocol : (r.n[sort.key] ?? "");
    return shown.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      return (va < vb ? -1 : va > vb ? 1 : 0) * (sort.asc ? 1 : -1);
    });
  }, [withState, filter, stateFilter, sort]);
  const counts = useMemo(() => {
    const c = { SYNCED: 0, STALE: 0, NACKED: 0, NOT_SENT: 0 } as Record<SyncState, number>;
    for (const r of withState) c[r.state]++;
    return c;
  }, [withState]);

  const header = (key: SortKey, text: string) => html`<th scope="col" aria-sort=${sort.key === key ? (sort.asc ? "ascending" : "descending") : "none"}>
    <button type="button" onClick=${() => setSort({ key, asc: sort.key === key ? !sort.asc : true })}>${text}${sort.key === key ? (sort.asc ? " ▲" : " ▼") : ""}</button>
  </th>`;

  return html`<section aria-labelledby="fleet-title">
    <h2 id="fleet-title">Fleet</h2>
    ${error && html`<p class="error-box" role="alert">${error}</p>`}
    <ul class="counts" aria-label="proxies by state">
      <li><strong data-count="total">${list.length}</strong>proxies</li>
      <li><strong data-count="synced">${counts.SYNCED}</strong>synced</li>
      <li><strong data-count="stale">${counts.STALE}</strong>stale</li>
      <li class="nacked"><strong data-count="nacked">${counts.NACKED}</strong>nacked</li>
      <li><strong data-count="not-sent">${counts.NOT_SENT}</strong>nothing sent</li>
    </ul>
    <div class="toolbar">
      <label>Filter<input type="search" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} placeholder="node, cluster, identity…" /></label>
      <label>State<select value=${stateFilter} onChange=${(e: Event) => setStateFilter((e.target as HTMLSelectElement).value)}>
        <option value="">any</option><option value="NACKED">nacked</option><option value="STALE">stale</option><option value="SYNCED">synced</option><option value="NOT_SENT">nothing sent</option>
      </select></label>
      <span class="note" aria-live="polite">${rows.length === list.length ? "" : `${rows.length} of ${list.length} shown`}</span>
    </div>
    ${
      loaded && list.length === 0
        ? html`<p class="note">No proxy is connected to ${info.controlPlaneId ?? "this xdsd"}.</p>`
        : html`<table aria-label="connected proxies">
      <thead><tr>
        ${header("node", "Node")}${header("cluster", "Cluster")}${header("identity", "Identity")}<th scope="col">Replica</th>${header("protocol", "Protocol")}
        ${types.map((t) => html`<th scope="col">${t.toUpperCase()}</th>`)}
      </tr></thead>
      <tbody>${rows.slice(0, limit).map(
        ({ n, protocol }) => html`<tr data-node=${n.node}>
          <td class="mono"><a href=${`#/node/${encodeURIComponent(n.node)}`}>${n.node}</a></td>
          <td>${n.cluster ?? ""}</td><td class="mono">${n.identity ?? ""}</td><td>${info.controlPlaneId ?? ""}</td><td>${protocol}</td>
          ${types.map((t) => html`<td data-type=${t} data-acked=${n.types[t]?.ackedVersion}><${StateBadge} s=${typeState(n.types[t], servedVersion(served, n, t))} type=${t} /></td>`)}
        </tr>`,
      )}</tbody>
    </table>
    ${
      rows.length > limit
        ? html`<p class="note">${limit} of ${rows.length} rows shown (filter, or sort by state to see the worst first).
            <button type="button" onClick=${() => setLimit(limit + rowsPerPage)}>Show ${Math.min(rowsPerPage, rows.length - limit)} more</button></p>`
        : null
    }`
    }
  </section>`;
}

// ---- One proxy ----------------------------------------------------------------------------------------------------
interface CsdsConfig {
  typeUrl: string;
  name: string;
  versionInfo?: string;
  xdsConfig?: Record<string, unknown>;
  configStatus?: string;
  clientStatus?: string;
  errorState?: { details?: string };
}

/** What the proxy page reads again: the proxy's status as a live update brought it, or all of /nodes; /config. */
interface Wanted {
  node?: NodeStatus;
  nodes?: boolean;
  config?: boolean;
}

function ProxyPage({ id }: { id: string }) {
  const [node, setNode] = useState<NodeStatus>();
  const [held, setHeld] = useState<CsdsConfig[]>([]);
  const [served, setServed] = useState<SnapshotView | null>(null);
  const [history, setHistory] = useState<ChangeEntry[]>([]);
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<string>();

  // What the proxy holds (CSDS) against its group in /config. /nodes (every page) and /config (every group) are read
  // again only when they may have changed for this proxy: at first and after a resync, /config after a published
  // change; a live update of the proxy carries its status, and only its CSDS is asked again. One load at a time, the
  // wishes made meanwhile merged into the next: a load that started earlier never overwrites a later one's answer.
  const known = useRef<{ node?: NodeStatus; config?: ConfigView }>({});
  const wanted = useRef<Wanted | undefined>(undefined);
  const running = useRef(false);
  const loadOnce = useCallback(
    async (what: Wanted) => {
      try {
        const [n, config] = await Promise.all([
          what.node ?? (what.nodes || !known.current.node ? allNodes().then((page) => page.find((x) => x.node === id)) : known.current.node),
          what.config || !known.current.config ? getJson<ConfigView>("/config") : known.current.config,
        ]);
        known.current = { node: n, config };
        setNode(n);
        if (!n) return setError(`${id} is not connected to this xdsd (it may be connected to another replica)`);
        const rawId = n.cluster && id.startsWith(`${n.cluster}/`) ? id.slice(n.cluster.length + 1) : id;
        const csds = await getJson<{ config?: { genericXdsConfigs?: CsdsConfig[] }[] }>("/v3/discovery:client_status", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ node_matchers: [{ node_id: { exact: rawId } }] }),
        });
        setHeld(csds.config?.[0]?.genericXdsConfigs ?? []);
        setServed(config.nodes[n.nodeKey] ?? config.default);
        setError(undefined);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    [id],
  );
  const load = useCallback(
    async (what: Wanted) => {
      const before = wanted.current;
      wanted.current = {
        node: what.node ?? (what.nodes ? undefined : before?.node),
        nodes: Boolean(what.nodes || (before?.nodes && !what.node)),
        config: Boolean(what.config || before?.config),
      };
      if (running.current) return;
      running.current = true;
      try {
        let next: Wanted | undefined = wanted.current;
        while (next) {
          wanted.current = undefined;
          await loadOnce(next);
          next = wanted.current as Wanted | undefined; // set again meanwhile by the feed
        }
      } finally {
        running.current = false;
      }
    },
    [loadOnce],
  );
  useEffect(() => void load({ nodes: true, config: true }), [load]);
  useEffect(() => {
    getJson<{ entries: ChangeEntry[] }>("/ui/api/changes").then(
      (r) => setHistory(r.entries),
      () => {},
    );
  }, []);
  useFeed((event, data) => {
    if (event === "nodes") {
      const { nodes, gone } = data as { nodes: NodeStatus[]; gone?: string[] };
      const mine = nodes.find((n) => n.node === id);
      if (mine) void load({ node: mine });
      else if (gone?.includes(id)) void load({ nodes: true });
    }
    if (event === "changes") void load({ config: true });
    if (event === "resync") void load({ nodes: true, config: true });
  });

  // Per resource: what the proxy holds (CSDS) against what xdsd would send it now (/config for its group).
  const rows: { type: string; name: string; held?: CsdsConfig; served?: ServedResource }[] = [];
  const byKey = new Map<string, (typeof rows)[number]>();
  for (const [type, view] of Object.entries(served ?? {})) {
    for (const r of view.resources) {
      const row = { type, name: r.name, served: r };
      byKey.set(`${view.typeUrl}\0${r.name}`, row);
      rows.push(row);
    }
  }
  const shortOf = (typeUrl: string) => Object.entries(served ?? {}).find(([, v]) => v.typeUrl === typeUrl)?.[0] ?? typeUrl.split(".").pop()!;
  for (const c of held) {
    const row = byKey.get(`${c.typeUrl}\0${c.name}`);
    if (row) row.held = c;
    else rows.push({ type: shortOf(c.typeUrl), name: c.name, held: c });
  }
  const verdict = (r: (typeof rows)[number]) => {
    if (r.held?.clientStatus === "NACKED" || r.held?.configStatus === "ERROR") return "NACKED";
    if (!r.held) return "NOT SENT";
    if (!r.served) return "NOT SERVED NOW";
    return r.held.xdsConfig ? "SAME" : "DIFFERS";
  };

  return html`<section aria-labelledby="proxy-title">
    <h2 id="proxy-title">Proxy <span class="mono">${id}</span></h2>
    <p><a href="#/fleet">← Fleet</a></p>
    ${error && html`<p class="error-box" role="alert">${error}</p>`}
    ${
      node &&
      html`<p class="note">group <span class="mono">${node.nodeKey || "(default)"}</span> · ${Object.keys(node.services).join(", ")} · ${node.userAgent ?? ""} · connected
      ${time(node.connectedAt)}${node.identity ? ` · identity ${node.identity}` : ""}</p>`
    }
    <table aria-label="resources held against resources served">
      <thead><tr><th scope="col">Type</th><th scope="col">Resource</th><th scope="col">Proxy holds</th><th scope="col">xdsd serves now</th><th scope="col">Compared</th><th scope="col">Content</th></tr></thead>
      <tbody>${rows.map((r) => {
        const key = `${r.type}/${r.name}`;
        const v = verdict(r);
        const cls = v === "SAME" ? "SYNCED" : v === "NACKED" ? "NACKED" : v === "DIFFERS" ? "STALE" : "NOT_SENT";
        return html`<tr>
          <td>${r.type.toUpperCase()}</td><td class="mono">${r.name}</td>
          <td class="mono">${r.held ? `${r.held.versionInfo ?? ""} (${r.held.clientStatus ?? r.held.configStatus ?? ""})` : ""}${r.held?.errorState?.details ? html`<div class="error">${r.held.errorState.details}</div>` : null}</td>
          <td class="mono">${r.served?.version ?? ""}</td>
          <td><span class="state ${cls}">${v}</span></td>
          <td><button type="button" aria-expanded=${open === key} onClick=${() => setOpen(open === key ? undefined : key)}>${open === key ? "Hide" : "Show"} diff</button></td>
        </tr>
        ${open === key ? html`<tr><td colspan="6"><${ResourceDiff} row=${r} history=${history} /></td></tr>` : null}`;
      })}</tbody>
    </table>
  </section>`;
}

function ResourceDiff({ row, history }: { row: { type: string; name: string; held?: CsdsConfig; served?: ServedResource }; history: ChangeEntry[] }) {
  const [before, setBefore] = useState<unknown>();
  const [note, setNote] = useState("");
  useEffect(() => {
    // CSDS carries the content only when the proxy holds what is served now. Otherwise the content it holds is the
    // `before` of the latest change of the resource the change history kept.
    const { xdsConfig, clientStatus } = row.held ?? {};
    // A NACKed resource's content in CSDS is what xdsd sent, which the proxy refused: it holds the one before.
    if (xdsConfig && clientStatus !== "NACKED") {
      const { "@type": _t, ...content } = xdsConfig;
      setBefore(content);
      setNote("the proxy holds what xdsd serves now");
      return;
    }
    const entry = history.find((e) => e.changes.some((c) => c.type === row.type && c.name === row.name));
    if (!row.held || !entry) {
      setBefore(undefined);
      setNote(row.held ? "what the proxy holds is older than the change history" : "the proxy holds nothing of this resource");
      return;
    }
    getJson<ChangeEntry>(`/ui/api/changes/${entry.seq}`).then((full) => {
      const c = full.changes.find((x) => x.type === row.type && x.name === row.name);
      setBefore(c?.before);
      setNote(`the proxy holds the content before version ${full.version} (${time(full.at)})`);
    });
  }, [row, history]);
  return html`<p class="note">${note}</p><${Diff} before=${before} after=${row.served?.resource} />`;
}

function Diff({ before, after }: { before: unknown; after: unknown }) {
  const a = before === undefined ? [] : JSON.stringify(before, null, 2).split("\n");
  const b = after === undefined ? [] : JSON.stringify(after, null, 2).split("\n");
  const lines = lineDiff(a, b);
  return html`<pre class="diff" aria-label="content diff: lines removed start with -, lines added with +">${lines.map(
    (l) => html`<span class=${l.op === "+" ? "add" : l.op === "-" ? "del" : "same"}>${l.op} ${l.text}</span>`,
  )}</pre>`;
}

// ---- Clusters -------------------------------------------------------------------------------------------------------
interface LoadReport {
  window_seconds: number;
  clusters: { cluster: string; service_name?: string; rate: { requests_per_second: number; errors_per_second: number } }[];
}
interface Registration {
  endpoint: string;
  value: Record<string, unknown>;
}
interface LbEndpointJson {
  endpoint?: { address?: { socketAddress?: { address?: string; portValue?: number } } };
  healthStatus?: string;
  loadBalancingWeight?: number;
}
interface LocalityJson {
  locality?: { region?: string; zone?: string; subZone?: string };
  lbEndpoints?: LbEndpointJson[];
  priority?: number;
}

/** Samples of each cluster's load kept for its plot: 5 minutes at one poll each 2 s. */
const loadSamples = 150;
const loadPollMs = 2000;

function Clusters() {
  const [config, setConfig] = useState<ConfigView>();
  const [group, setGroup] = useState("");
  const [registrations, setRegistrations] = useState<Map<string, Registration[]>>(new Map());
  const [loads, setLoads] = useState<Map<string, [number[], number[], number[]]>>(new Map());
  const [loadState, setLoadState] = useState<"waiting" | "absent" | "ok" | string>("waiting");
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();

  const load = useCallback(() => {
    getJson<ConfigView>("/config").then(setConfig, (e: Error) => setMessage({ ok: false, text: e.message }));
    getJson<{ clusters: { name: string; endpoints?: Registration[] }[] }>("/v1/clusters").then(
      (r) => setRegistrations(new Map(r.clusters.map((c) => [c.name, c.endpoints ?? []]))),
      () => setRegistrations(new Map()),
    );
  }, []);
  useEffect(load, []);
  useFeed((event) => {
    if (event === "changes" || event === "resync") load();
  });
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const report = await getJson<LoadReport>("/loads");
        const t = Date.now() / 1000;
        setLoads((old) => {
          const next = new Map(old);
          for (const c of report.clusters) {
            const [ts, rps, eps] = next.get(c.cluster) ?? [[], [], []];
            const keep = (xs: number[], x: number) => [...xs, x].slice(-loadSamples);
            next.set(c.cluster, [keep(ts, t), keep(rps, c.rate.requests_per_second), keep(eps, c.rate.errors_per_second)]);
          }
          return next;
        });
        setLoadState("ok");
      } catch (e) {
        setLoadState(e instanceof HttpError && e.status === 404 ? "absent" : (e as Error).message);
      }
      if (!stopped) timer = setTimeout(poll, loadPollMs);
    };
    let timer = setTimeout(poll, 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  const groups = config ? [...(config.default ? [""] : []), ...Object.keys(config.nodes)] : [];
  const view = config ? (group === "" ? config.default : config.nodes[group]) : null;
  const clusters = view?.cds?.resources ?? [];
  const assignments = new Map((view?.eds?.resources ?? []).map((r) => [r.name, r.resource as { endpoints?: LocalityJson[] }]));

  const act = async (cluster: string, address: string, action: "drain" | "remove") => {
    const question = action === "drain" ? `Drain ${address} of ${cluster}? New requests go to its other endpoints.` : `Remove ${address} from ${cluster}?`;
    if (!window.confirm(question)) return;
    const token = sessionStorage.getItem(tokenKey) ?? "";
    const reg = registrations.get(cluster)?.find((r) => r.endpoint === address);
    const path = `/v1/clusters/${encodeURIComponent(cluster)}/endpoints/${encodeURIComponent(address)}`;
    // The registration as stored, less what the endpoint's name and the TTL's renewal set.
    const { expires_at: _e, address: _a, port: _p, ...value } = reg?.value ?? {};
    try {
      await getJson(path, {
        method: action === "drain" ? "PUT" : "DELETE",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: action === "drain" ? JSON.stringify({ ...value, health_status: "DRAINING" }) : undefined,
      });
      setMessage({ ok: true, text: `${address} of ${cluster}: ${action === "drain" ? "draining" : "removed"}` });
      load();
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 0;
      const hint = status === 401 || status === 403 ? " — enter a write token at the top of the page" : "";
      setMessage({ ok: false, text: `${action} ${address} of ${cluster} refused: ${(e as Error).message}${hint}` });
    }
  };

  return html`<section aria-labelledby="clusters-title">
    <h2 id="clusters-title">Clusters</h2>
    ${message && html`<p class=${message.ok ? "note" : "error-box"} role=${message.ok ? "status" : "alert"}>${message.text}</p>`}
    <div class="toolbar">
      <label>Node group<select value=${group} onChange=${(e: Event) => setGroup((e.target as HTMLSelectElement).value)}>
        ${groups.map((g) => html`<option value=${g}>${g === "" ? "(default)" : g}</option>`)}
      </select></label>
      <span class="note">${loadState === "absent" ? "no load reports (this xdsd has no /loads)" : loadState === "ok" || loadState === "waiting" ? "" : `loads: ${loadState}`}</span>
    </div>
    <div class="cards">${clusters.map((c) => {
      const cla = assignments.get(c.name);
      const regs = registrations.get(c.name) ?? [];
      const series = loads.get(c.name);
      const rows = (cla?.endpoints ?? []).flatMap((l) =>
        (l.lbEndpoints ?? []).map((e) => {
          const sa = e.endpoint?.address?.socketAddress;
          const address = sa?.address?.includes(":") ? `[${sa.address}]:${sa?.portValue}` : `${sa?.address}:${sa?.portValue}`;
          const reg = regs.find((r) => r.endpoint === address);
          return { address, weight: e.loadBalancingWeight ?? 1, health: e.healthStatus ?? "UNKNOWN", locality: l.locality, priority: l.priority ?? 0, reg };
        }),
      );
      return html`<article class="card" data-cluster=${c.name} aria-labelledby=${`cluster-${c.name}`}>
        <h3 id=${`cluster-${c.name}`} class="mono">${c.name}</h3>
        <table aria-label=${`endpoints of ${c.name}`}>
          <thead><tr><th scope="col">Endpoint</th><th scope="col">Weight</th><th scope="col">Locality</th><th scope="col">Health</th><th scope="col">Registration</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${rows.map(
            (r) => html`<tr data-endpoint=${r.address}>
            <td class="mono">${r.address}</td><td>${r.weight}</td>
            <td>${[r.locality?.region, r.locality?.zone, r.locality?.subZone].filter(Boolean).join(" / ") || "—"}${r.priority ? ` (priority ${r.priority})` : ""}</td>
            <td><span class=${`state ${r.health === "DRAINING" || r.health === "UNHEALTHY" ? "STALE" : "SYNCED"}`}>${r.health}</span></td>
            <td>${r.reg ? (r.reg.value.expires_at ? `API, TTL ${r.reg.value.ttl} (until ${time(String(r.reg.value.expires_at))})` : "API") : "file"}</td>
            <td>
              <button type="button" onClick=${() => act(c.name, r.address, "drain")} disabled=${r.health === "DRAINING"} aria-label=${`drain ${r.address} of ${c.name}`}>Drain</button>
              <button type="button" class="danger" onClick=${() => act(c.name, r.address, "remove")} aria-label=${`remove ${r.address} from ${c.name}`}>Remove</button>
            </td>
          </tr>`,
          )}</tbody>
        </table>
        ${rows.length === 0 ? html`<p class="note">No endpoint over EDS (its endpoints may be inline or from DNS).</p>` : null}
        ${series ? html`<${Plot} title=${`load of ${c.name}`} data=${series} series=${["requests/s", "errors/s"]} />` : loadState === "ok" ? html`<p class="note">no load reported for this cluster</p>` : null}
      </article>`;
    })}</div>
  </section>`;
}

/** A small uPlot time series; `data` is [x, ...ys]. */
function Plot({ title, data, series, xLabel }: { title: string; data: number[][]; series: string[]; xLabel?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!el.current) return;
    const colors = ["#0b5cad", "#b3261e", "#0d5a2a"];
    plot.current = new uPlot(
      {
        width: Math.min(560, el.current.clientWidth || 560),
        height: 140,
        title,
        scales: xLabel ? { x: { time: false } } : {},
        axes: [{ label: xLabel }, {}],
        series: [{}, ...series.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 2 }))],
      },
      data as uPlot.AlignedData,
      el.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data as uPlot.AlignedData), [data]);
  return html`<div class="plot" ref=${el} role="img" aria-label=${`${title}: ${series.join(", ")}; latest ${data
    .slice(1)
    .map((ys) => ys[ys.length - 1]?.toFixed(1) ?? "none")
    .join(", ")}`}></div>`;
}

// ---- Changes --------------------------------------------------------------------------------------------------------
function Changes() {
  const [entries, setEntries] = useState<ChangeEntry[]>([]);
  const [selected, setSelected] = useState<number>();
  const [detail, setDetail] = useState<ChangeEntry>();
  const load = useCallback(() => {
    getJson<{ entries: ChangeEntry[] }>("/ui/api/changes").then(
      (r) => setEntries(r.entries),
      () => {},
    );
  }, []);
  useEffect(load, []);
  useFeed((event) => {
    if (event === "changes" || event === "resync") load();
  });
  const current = selected ?? entries[0]?.seq;
  useEffect(() => {
    if (current === undefined) return;
    getJson<ChangeEntry>(`/ui/api/changes/${current}`).then(setDetail, () => setDetail(undefined));
  }, [current, entries]);
  const source = (e: ChangeEntry) =>
    e.source === "file" ? "config file" : e.source === "api" ? (e.by ? `API write by ${e.by}` : "API write") : "store (another writer)";
  return html`<section aria-labelledby="changes-title">
    <h2 id="changes-title">Changes</h2>
    <div class="changes-layout">
      <table aria-label="published versions, newest first">
        <thead><tr><th scope="col">Time</th><th scope="col">Version</th><th scope="col">Source</th><th scope="col">Changes</th><th scope="col">ACKed</th></tr></thead>
        <tbody>${entries.map(
          (e) => html`<tr aria-selected=${e.seq === current} data-seq=${e.seq}>
          <td><button type="button" onClick=${() => setSelected(e.seq)}>${time(e.at)}</button></td>
          <td class="mono">${e.version}</td><td>${source(e)}</td>
          <td>+${e.counts.added} ~${e.counts.modified} −${e.counts.removed}</td>
          <td>${e.rollout.clients === 0 ? "no proxy concerned" : `${e.rollout.acked} of ${e.rollout.clients}${e.rollout.doneMs === undefined ? " (under way)" : ` in ${e.rollout.doneMs} ms`}`}</td>
        </tr>`,
        )}</tbody>
      </table>
      <div>${detail ? html`<${ChangeDetail} e=${detail} />` : html`<p class="note">No version published yet.</p>`}</div>
    </div>
  </section>`;
}

function ChangeDetail({ e }: { e: ChangeEntry }) {
  const acks = e.rollout.ackMs;
  const data = [
    [0, ...acks],
    [0, ...acks.map((_, i) => i + 1)],
  ];
  return html`<article aria-labelledby="change-title">
    <h3 id="change-title">Version <span class="mono">${e.version}</span></h3>
    <p class="note">${new Date(e.at).toLocaleString()} · ${e.rollout.groups} node group(s), ${e.rollout.clients} proxy stream(s) concerned ·
      ${e.rollout.acked} ACKed${e.rollout.doneMs === undefined ? "" : `, all settled in ${e.rollout.doneMs} ms`}
      ${Object.entries(e.rollout.results).map(([k, v]) => ` · ${v} ${k}`)}</p>
    ${acks.length > 0 ? html`<${Plot} key=${`${e.seq}:${acks.length}`} title="ACKs after the publish" data=${data} series=${["ACKs"]} xLabel="ms after the publish" />` : null}
    ${e.changes.map(
      (c) =>
        html`<h4 class="mono">${c.change} ${c.type.toUpperCase()} ${c.name} <span class="note">(${c.group})</span></h4><${Diff} before=${c.before} after=${c.after} />`,
    )}
    ${e.omitted > 0 ? html`<p class="note">${e.omitted} more change(s) not kept.</p>` : null}
  </article>`;
}

// ---- the page -------------------------------------------------------------------------------------------------------
interface Info {
  controlPlaneId: string | null;
  version: string | null;
}

function useRoute(): string {
  const [route, setRoute] = useState(location.hash || "#/fleet");
  useEffect(() => {
    const on = () => setRoute(location.hash || "#/fleet");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

function App() {
  const route = useRoute();
  const live = useFeedState();
  const [info, setInfo] = useState<Info>({ controlPlaneId: null, version: null });
  const [token, setToken] = useState(sessionStorage.getItem(tokenKey) ?? "");
  const loadInfo = () => getJson<Info>("/ui/api/info").then(setInfo, () => {});
  useEffect(() => void loadInfo(), []);
  useFeed((event) => {
    if (event === "changes") void loadInfo();
  });
  const pages: [string, string][] = [
    ["#/fleet", "Fleet"],
    ["#/clusters", "Clusters"],
    ["#/changes", "Changes"],
  ];
  const nodeId = route.startsWith("#/node/") ? decodeURIComponent(route.slice("#/node/".length)) : undefined;
  const page = nodeId
    ? html`<${ProxyPage} id=${nodeId} />`
    : route === "#/clusters"
      ? html`<${Clusters} />`
      : route === "#/changes"
        ? html`<${Changes} />`
        : html`<${Fleet} info=${info} />`;
  return html`<header>
      <h1>xdsd</h1>
      <nav aria-label="pages"><ul>${pages.map(([href, text]) => html`<li><a href=${href} aria-current=${route === href || (href === "#/fleet" && nodeId) ? "page" : undefined}>${text}</a></li>`)}</ul></nav>
      <div class="meta">
        <span class="live" role="status" data-feed=${live}>${live === "live" ? "● live" : live === "connecting" ? "○ connecting…" : "○ offline"}</span>
        ${info.controlPlaneId ?? ""} · version <span class="mono">${info.version ?? "—"}</span>
      </div>
      <label>Write token<input type="password" autocomplete="off" value=${token} onInput=${(e: Event) => {
        const v = (e.target as HTMLInputElement).value;
        setToken(v);
        sessionStorage.setItem(tokenKey, v);
      }} /></label>
    </header>
    <main>${page}</main>`;
}

startFeed();
render(html`<${App} />`, document.getElementById("app")!);
