// The store's objects (store/store.ts) merged into the config file's document, so that what the daemon serves is
// one model, validated as a whole by the same schema, checks and translation as `xdsd validate` — whichever source
// changed. The file's entries come first, then the store's: clusters, listeners and raw resources are appended to
// the top level's lists, node groups to `nodes`, and each endpoint object (`<cluster>/<host:port>`) to the
// endpoints of its cluster, wherever that cluster is defined.
//
// Names are not merged: a name the file defines is the file's (fileNamesOf; the write API refuses it with 409). A
// store object that has one anyway — the file took the name after the object was written — is left out and
// reported as shadowed (issue 18: a restart must never fail on state a running daemon accepted), until it is
// deleted or the file lets go of the name. So is an endpoint object whose endpoint its cluster lists already (the
// file added it, or the store holds it under a spelling from before addresses were canonical, address.ts). An
// object being written is never shadowed: its clash is an issue, and the write is refused.
//
// Every problem inside a store object is located by the object, not by a line: `{file: "store", path:
// "clusters.web.endpoints[2].port"}` — the kind, the object's name, then the field path inside it.
import { formatLocation, type ConfigIssue, type SourceLocation } from "../errors.js";
import { TypeUrl } from "../resource/type-urls.js";
import { findResourceType } from "../resource/types.js";
import { objectKindTable, splitEndpointName, type ObjectKind, type ObjectValue } from "../store/store.js";
import { canonicalIp, formatHostPort, parseHostPort } from "../config/address.js";
import { tooDeepMessage } from "../config/config-limits.js";
import { definedByEntry } from "../config/short-form-names.js";
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

/** A store object left out of the merge, and what is served in its place. */
export interface ShadowedObject {
  readonly kind: ObjectKind;
  readonly name: string;
  /** Why, as a clause: `the config file defines cluster "web"`, `endpoint 1.2.3.4:80 is listed already`. */
  readonly reason: string;
  /** Where what takes its place is: the file's entry, or the store object's. */
  readonly by: SourceLocation;
  /** When that is in the file: its path there (the daemon reads the file without positions; the line comes later). */
  readonly byPath?: Path;
}

/** A name the config file defines at its top level, as the store names objects. */
export interface FileDefinedName {
  readonly kind: ObjectKind;
  readonly name: string;
  /** The entry that defines it, in the file's document. */
  readonly path: Path;
  /** What the file defines: `cluster "web"`, `Cluster "raw1"`, `node group "edge"`. */
  readonly what: string;
  /**
   * A name the entry's resources have besides its own (a short-form cluster's Cluster and ClusterLoadAssignment
   * resources, a listener's RouteConfiguration, a raw ClusterLoadAssignment's cluster): a store object with it is
   * left out of the merge, but a write of one is refused as the duplicate it makes (422), not with the 409 of a
   * name the file manages (publish.ts sends the main thread only those: one per entry, for large files).
   */
  readonly clashOnly?: boolean;
}

/**
 * The names the file's document defines, by overlayKey: the names the file manages. A store object may not take
 * one (the write API's 409, reloader.ts), and one that has one is shadowed. Besides each entry's own name, a
 * short-form cluster or listener names the xDS resources it becomes (a raw resource of the same type and name
 * would clash with them), and a raw Cluster, ClusterLoadAssignment or Listener the short-form object whose
 * resources would clash with it.
 */
export function fileNamesOf(document: unknown): ReadonlyMap<string, FileDefinedName> {
  if (!isRecord(document)) return new Map();
  const kept = fileNamesByDocument.get(document);
  if (kept) return kept;
  const names = new Map<string, FileDefinedName>();
  const define = (kind: ObjectKind, name: string, path: Path, what: string, clashOnly = false) => {
    const key = overlayKey(kind, name);
    if (!names.has(key)) names.set(key, { kind, name, path, what, ...(clashOnly ? { clashOnly } : {}) });
  };
  const entries = (list: string) => (Array.isArray(document[list]) ? (document[list] as unknown[]) : []);
  for (const [list, kind] of [
    ["clusters", "cluster"],
    ["listeners", "listener"],
  ] as const) {
    entries(list).forEach((e, i) => {
      if (!isRecord(e) || typeof e.name !== "string") return;
      const what = `${kind} "${e.name}"`;
      define(kind, e.name, [list, i], what);
      for (const d of definedByEntry[list](e)) define("resource", `${d.typeUrl}/${d.name}`, [list, i], what, true);
    });
  }
  entries("resources").forEach((r, i) => {
    const typeUrl = isRecord(r) ? r["@type"] : undefined;
    const type = typeof typeUrl === "string" ? findResourceType(typeUrl) : undefined;
    if (!type) return;
    // Proto3 JSON takes a field by its name or its lowerCamelCase JSON name.
    const field = type.nameField;
    const name = (r as Record<string, unknown>)[field] ?? (r as Record<string, unknown>)[field.replace(/_(.)/g, (_, c: string) => c.toUpperCase())];
    if (typeof name !== "string") return;
    const what = `${type.typeUrl.slice(type.typeUrl.lastIndexOf(".") + 1)} "${name}"`;
    define("resource", `${type.typeUrl}/${name}`, ["resources", i], what);
    if (type.typeUrl === TypeUrl.Cluster) define("cluster", name, ["resources", i], what);
    if (type.typeUrl === TypeUrl.ClusterLoadAssignment) define("cluster", name, ["resources", i], what, true);
    if (type.typeUrl === TypeUrl.Listener) define("listener", name, ["resources", i], what);
  });
  if (isRecord(document.nodes)) for (const key of Object.keys(document.nodes)) define("node-group", key, ["nodes", key], `node group "${key}"`);
  fileNamesByDocument.set(document, names);
  return names;
}

/** A file's document is read once per content, and each store write merges into the same one (store-writes.ts). */
const fileNamesByDocument = new WeakMap<object, ReadonlyMap<string, FileDefinedName>>();

/**
 * The keys under which a store object's names may be the file's: its own, and those of the resources it becomes
 * (a listener's route configuration's).
 */
function namesOfObject(o: OverlayObject): string[] {
  const own = overlayKey(o.kind, o.name);
  if (o.kind !== "cluster" && o.kind !== "listener") return [own];
  const defined = definedByEntry[o.kind === "cluster" ? "clusters" : "listeners"]({ ...o.value, name: o.name });
  return [own, ...defined.map((d) => overlayKey("resource", `${d.typeUrl}/${d.name}`))];
}

/**
 * An object nested deeper than the config's limit (config-limits.ts maxDepth, counted where the object sits in the
 * merged document: a cluster's mapping is the third level, an endpoint's the fifth), located at its store path;
 * undefined when it is not. Iterative: a write API body may nest thousands of levels, which recursive code (the
 * schema check, structured clone to the config worker) would meet as a stack overflow.
 */
export function tooDeepIssue(o: OverlayObject, maxDepth: number): ConfigIssue | undefined {
  const at: Path = [objectKindTable[o.kind].documentKey, o.name];
  const stack: { value: unknown; path: Path; level: number }[] = [{ value: o.value, path: [], level: o.kind === "endpoint" ? 5 : 3 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, path, level } = item;
    if (typeof value !== "object" || value === null) continue;
    if (level > maxDepth) return { location: { file: storeFile, path: formatPath([...at, ...path]) }, message: tooDeepMessage(maxDepth) };
    for (const [k, v] of Object.entries(value)) stack.push({ value: v, path: [...path, Array.isArray(value) ? Number(k) : k], level: level + 1 });
  }
  return undefined;
}

/** The canonical text of an endpoint entry (`"1.2.3.4:80"` or `{address, port}`); undefined when it is not one. */
function endpointKey(entry: unknown): string | undefined {
  if (typeof entry === "string") {
    const parsed = parseHostPort(entry);
    return "error" in parsed ? undefined : formatHostPort(parsed.address, parsed.port);
  }
  if (!isRecord(entry) || typeof entry.address !== "string" || typeof entry.port !== "number") return undefined;
  const address = canonicalIp(entry.address);
  return address === undefined ? undefined : formatHostPort(address, entry.port);
}

type Origin = { kind: "file" } | { kind: "object"; path: Path };

/** What takes a left-out object's place: an item of the merged document, or a store object by its path. */
type Taker = { merged: Path } | { object: Path };

export class MergedSource implements DocumentSource {
  readonly file: string;
  readonly value: unknown;
  readonly syntaxIssues: readonly ConfigIssue[];
  /** The store objects left out, in the order given. */
  readonly shadowed: ShadowedObject[] = [];
  /** Per merged list (`clusters`, `listeners`, `resources`): where each item past the file's came from. */
  readonly #appended = new Map<string, Path[]>();
  /** Per cluster index: the store paths of the endpoints appended to it, after its own. */
  readonly #endpoints = new Map<number, { own: number; added: Path[] }>();
  readonly #groups = new Set<string>();

  constructor(
    readonly base: DocumentSource,
    objects: readonly OverlayObject[],
    /** The overlayKeys of the objects being written: a clash of theirs is an issue, not a shadow. */
    written: ReadonlySet<string> = new Set(),
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
    /**
     * Leaves `o` out: shadowed; or refused (saying why: `consequence`) when it is being written, or what takes its
     * place is (`takerWritten`: a write may not leave out what was served).
     */
    const leaveOut = (o: OverlayObject, at: Path, reason: string, taker: Taker, consequence: string, takerWritten = false) => {
      const by = "object" in taker ? this.#objectLocation(taker.object) : this.locate(taker.merged);
      if (takerWritten || written.has(overlayKey(o.kind, o.name))) {
        issues.push({ location: this.#objectLocation(at), message: `${reason}, at ${formatLocation(by)}; ${consequence}` });
      } else {
        // A path of the merge that is the file's is the file's own path: the file's items come first.
        this.shadowed.push({ kind: o.kind, name: o.name, reason, by, ...("merged" in taker && !this.fromStore(taker.merged) ? { byPath: taker.merged } : {}) });
      }
    };
    const fileNames = fileNamesOf(root);
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
      const { documentKey, joins } = objectKindTable[o.kind];
      const key = joins === "list" ? documentKey : undefined;
      const taken =
        fileNames.size > 0 && o.kind !== "endpoint"
          ? namesOfObject(o)
              .map((k) => fileNames.get(k))
              .find((n) => n)
          : undefined;
      if (taken) {
        leaveOut(o, [documentKey, o.name], `the config file defines ${taken.what}`, { merged: taken.path }, "a name belongs to one source");
        continue;
      }
      if (key) {
        list(key).push(entryOf(o));
        this.#appended.get(key)!.push([`${key}`, o.name]);
      } else if (o.kind === "endpoint") {
        endpoints.push(o);
      } else {
        nodes ??= { ...(isRecord(top.nodes) ? top.nodes : {}) };
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
      /** Per cluster: its endpoints by canonical text, and where each is listed first. */
      const listed = new Map<number, Map<string, Taker>>();
      const listedIn = (i: number) => {
        let keys = listed.get(i);
        if (keys) return keys;
        listed.set(i, (keys = new Map()));
        const own = (clusters[i] as Record<string, unknown>).endpoints;
        (Array.isArray(own) ? own : []).forEach((entry, j) => {
          const key = endpointKey(entry);
          if (key !== undefined && !keys!.has(key)) keys!.set(key, { merged: ["clusters", i, "endpoints", j] });
        });
        return keys;
      };
      for (const e of endpoints) {
        const cluster = splitEndpointName(e.name)?.cluster ?? e.name;
        const i = index.get(cluster);
        if (i === undefined) {
          issues.push({ location: this.#objectLocation(["endpoints", e.name]), message: `endpoint of cluster "${cluster}", which is not defined` });
          continue;
        }
        const key = endpointKey(e.value);
        const first = key === undefined ? undefined : listedIn(i).get(key);
        if (first) {
          // A store cluster written with an endpoint that is registered already: the write is refused, as before.
          const clusterWritten = "merged" in first && this.fromStore(["clusters", i]) && written.has(overlayKey("cluster", cluster));
          leaveOut(
            e,
            ["endpoints", e.name],
            `endpoint ${key} is listed already`,
            first,
            "gRPC clients reject a cluster that lists an endpoint twice",
            clusterWritten,
          );
          continue;
        }
        if (key !== undefined) listedIn(i).set(key, { object: ["endpoints", e.name] });
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
