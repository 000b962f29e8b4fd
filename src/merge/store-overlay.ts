// The store's objects (store/store.ts) merged into the config file's document, so that what the daemon serves is
// one model, validated as a whole by the same schema, checks and translation as `xdsd validate` — whichever source
// changed. The file's entries come first, then the store's: clusters, listeners and raw resources are appended to
// the top level's lists, node groups to `nodes`, and each endpoint object (`<cluster>/<host:port>`) to the
// endpoints of its cluster, wherever that cluster is defined. Names are not merged: a name the file defines is
// the file's (the write API refuses it), so a clash can only come from a file edit, and is reported as the
// duplicate it is.
//
// Every problem inside a store object is located by the object, not by a line: `{file: "store", path:
// "clusters.web.endpoints[2].port"}` — the kind, the object's name, then the field path inside it.
import type { ConfigIssue, SourceLocation } from "../errors.js";
import type { ObjectKind, ObjectValue } from "../store/store.js";
import { formatPath, type DocumentSource, type Path } from "../config/source.js";
import { endpointEntry } from "./registration.js";
import { deepFreeze } from "../config/unlocated-source.js";

export interface OverlayObject {
  readonly kind: ObjectKind;
  readonly name: string;
  readonly value: ObjectValue;
}

/** An object's key among the store's objects: unique per kind and name. */
export function overlayKey(kind: ObjectKind, name: string): string {
  return `${kind}\u0000${name}`;
}

/** The file where store objects are said to be, in locations. */
export const storeFile = "store";

/** The list of the top level each kind of object joins. */
const listOfKind: Partial<Record<ObjectKind, string>> = { cluster: "clusters", listener: "listeners", resource: "resources" };

type Origin = { kind: "file" } | { kind: "object"; path: Path };

export class MergedSource implements DocumentSource {
  readonly file: string;
  readonly value: unknown;
  readonly syntaxIssues: readonly ConfigIssue[];
  /** Per merged list (`clusters`, `listeners`, `resources`): where each item past the file's came from. */
  readonly #appended = new Map<string, Path[]>();
  /** Per cluster index: the store paths of the endpoints appended to it, after its own. */
  readonly #endpoints = new Map<number, { own: number; added: Path[] }>();
  readonly #groups = new Set<string>();

  constructor(
    readonly base: DocumentSource,
    objects: readonly OverlayObject[],
  ) {
    this.file = base.file;
    const root = base.value;
    if (base.syntaxIssues.length > 0 || (root !== null && root !== undefined && (typeof root !== "object" || Array.isArray(root)))) {
      // Nothing to merge into: the file's own problem is what to report.
      this.value = root;
      this.syntaxIssues = base.syntaxIssues;
      return;
    }
    const issues: ConfigIssue[] = [];
    const top: Record<string, unknown> = { ...((root as Record<string, unknown> | null | undefined) ?? {}) };
    const lists = new Map<string, unknown[]>();
    const list = (key: string) => {
      let l = lists.get(key);
      if (!l) {
        const existing = top[key];
        lists.set(key, (l = Array.isArray(existing) ? [...existing] : []));
        this.#appended.set(key, []);
      }
      return l;
    };
    const endpoints: OverlayObject[] = [];
    let nodes: Record<string, unknown> | undefined;
    for (const o of objects) {
      const key = listOfKind[o.kind];
      if (key) {
        list(key).push(entryOf(o));
        this.#appended.get(key)!.push([`${key}`, o.name]);
      } else if (o.kind === "endpoint") {
        endpoints.push(o);
      } else {
        nodes ??= { ...(isRecord(top.nodes) ? top.nodes : {}) };
        if (o.name in nodes) {
          issues.push({
            location: this.#objectLocation(["nodes", o.name]),
            message: `node group "${o.name}" is defined by the file too; a name belongs to one source`,
          });
          continue;
        }
        nodes[o.name] = o.value;
        this.#groups.add(o.name);
      }
    }
    if (endpoints.length > 0) {
      const clusters = list("clusters");
      const index = new Map<string, number>();
      clusters.forEach((c, i) => {
        if (isRecord(c) && typeof c.name === "string" && !index.has(c.name)) index.set(c.name, i);
      });
      const byCluster = new Map<number, OverlayObject[]>();
      for (const e of endpoints) {
        const cluster = e.name.slice(0, e.name.indexOf("/"));
        const i = index.get(cluster);
        if (i === undefined) {
          issues.push({ location: this.#objectLocation(["endpoints", e.name]), message: `endpoint of cluster "${cluster}", which is not defined` });
          continue;
        }
        let added = byCluster.get(i);
        if (!added) byCluster.set(i, (added = []));
        added.push(e);
      }
      for (const [i, added] of byCluster) {
        const c = clusters[i] as Record<string, unknown>;
        clusters[i] = withEndpoints(c, added);
        this.#endpoints.set(i, { own: Array.isArray(c.endpoints) ? c.endpoints.length : 0, added: added.map((e) => ["endpoints", e.name]) });
      }
    }
    for (const [key, l] of lists) top[key] = l;
    if (nodes) top.nodes = nodes;
    this.value = top;
    this.syntaxIssues = issues;
  }

  locate(path: Path): SourceLocation {
    const origin = this.#origin(path);
    return origin.kind === "file" ? this.base.locate(path) : this.#objectLocation(origin.path);
  }

  locateKey(path: Path): SourceLocation {
    const origin = this.#origin(path);
    return origin.kind === "file" ? this.base.locateKey(path) : this.#objectLocation(origin.path);
  }

  /** Whether the value at `path` came from the store (then `locate` names the object). */
  fromStore(path: Path): boolean {
    return this.#origin(path).kind === "object";
  }

  #origin(path: Path): Origin {
    const [head, i, ...rest] = path;
    if (head === "nodes" && typeof i === "string" && this.#groups.has(i)) return { kind: "object", path: ["nodes", i, ...rest] };
    if (typeof head !== "string" || typeof i !== "number") return { kind: "file" };
    const appended = this.#appended.get(head);
    const own = (this.base.value as Record<string, unknown> | undefined)?.[head];
    const fileCount = Array.isArray(own) ? own.length : 0;
    if (head === "clusters" && rest[0] === "endpoints" && typeof rest[1] === "number") {
      const added = this.#endpoints.get(i);
      if (added && rest[1] >= added.own) return { kind: "object", path: [...added.added[rest[1] - added.own], ...rest.slice(2)] };
    }
    if (appended && i >= fileCount) return { kind: "object", path: [...appended[i - fileCount], ...rest] };
    return { kind: "file" };
  }

  #objectLocation(path: Path): SourceLocation {
    return { file: storeFile, path: formatPath(path) };
  }
}

// The entries made from store objects are kept per object: a store write's load (store-writes.ts) merges the same
// objects as the load before it, except the ones written, and so gets the same entries — and what is memoized by
// entry (content keys in load.ts, the schema's verdicts in schema.ts) carries over. Only objects whose values are
// frozen are kept (the config worker freezes what it holds): a value that may change cannot be memoized.
const entries = new WeakMap<OverlayObject, ObjectValue>();
const clustersWithEndpoints = new WeakMap<object, { added: readonly OverlayObject[]; merged: Record<string, unknown> }>();

/** The entry a cluster, listener or raw resource object becomes in its list. */
export function entryOf(o: OverlayObject): ObjectValue {
  const kept = entries.get(o);
  if (kept) return kept;
  const entry = o.kind === "resource" ? o.value : { ...o.value, name: o.name };
  if (Object.isFrozen(o.value)) entries.set(o, deepFreeze(entry));
  return entry;
}

/** A cluster entry with the store's endpoints after its own. */
export function withEndpoints(cluster: Record<string, unknown>, added: readonly OverlayObject[]): Record<string, unknown> {
  const kept = clustersWithEndpoints.get(cluster);
  if (kept && kept.added.length === added.length && kept.added.every((e, k) => e === added[k])) return kept.merged;
  const own = Array.isArray(cluster.endpoints) ? cluster.endpoints : [];
  const merged = { ...cluster, endpoints: [...own, ...added.map((e) => endpointEntry(e.value))] };
  if (Object.isFrozen(cluster) && added.every((e) => Object.isFrozen(e.value))) {
    clustersWithEndpoints.set(cluster, { added: [...added], merged: deepFreeze(merged) });
  }
  return merged;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
