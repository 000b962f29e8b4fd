// A store write costs what it changes. Loading the whole config again for each API write — reading the file's
// text, checking and translating every entry, handing every resource to the main thread and building every
// snapshot there — took 13–25 ms of CPU with a 500-cluster file. Instead, the config worker keeps what it loaded
// last (LoadedState: the file's document as read, the store's objects merged into it, the snapshots they made) and
// settles a write from there:
//
//   1. the write's operations are applied to the held store objects, as the reloader applies them to its own;
//   2. the file's document and those objects are loaded as one (load.ts loadMerged: the same merge, schema, checks
//      and translation as every load — so the verdict is the one loading everything gives), without reading the
//      text; entries translated before come from the translation cache, so only what the write changed is
//      translated and encoded;
//   3. the resources are compared with the held snapshots, whose successors are derived by what changed
//      (Snapshot.update), and only what changed crosses to the main thread, which derives the served snapshots
//      from it the same way (applyChanges).
//
// A write of endpoints only (a registration, a drain, a heartbeat) is cheaper still: step 2 loads just the entries
// of their clusters (clustersWithTheirEndpoints says why that is the same verdict).
//
// Whatever this cannot settle — no held state for what is served, any issue at all — goes the whole way, which
// reads the file with positions and reports every issue where it is.
//
// The held state is named by a tag (the id of the request that made it). The reloader says which tag it serves
// with every request: a state made for a write that was then not committed is never the base of the next one.
import { Snapshot } from "../cache/snapshot.js";
import type { EncodedResource } from "../resource/encoded-resource.js";
import { splitEndpointName, type StoreOperation } from "../store/store.js";
import { loadMerged } from "../merge/merged-load.js";
import { encodedOf, type ConfigSnapshots } from "../config/snapshots.js";
import { entryOf, overlayKey, storeFile, withEndpoints, type OverlayObject, type ShadowedObject } from "../merge/store-overlay.js";
import { asArray, isObj } from "../config/validate.js";
import { formatPath } from "../config/source.js";
import { ConfigError, XdsdError } from "../errors.js";
import type { ConfigResource } from "../config/load.js";
import type { TranslationCache } from "../config/translation-cache.js";
import { deepFreeze } from "../config/unlocated-source.js";

/** What the config worker loaded last: the base of the next store write. */
export interface LoadedState {
  /** The id of the request that made this state; the reloader names the state it serves by it. */
  readonly tag: number;
  readonly file: string;
  /** The file's document as read (plain data, without the store's objects). */
  readonly fileDocument: unknown;
  /** The store's objects merged in, by overlayKey, in the order they were merged. */
  readonly objects: ReadonlyMap<string, OverlayObject>;
  readonly snapshots: ConfigSnapshots;
  /** The store objects the merge left out (store-overlay.ts). */
  readonly shadowed: readonly ShadowedObject[];
}

/** What changed in one group's snapshot (the default one when `key` is null). */
export interface GroupChanges {
  readonly key: string | null;
  /** The group is new: its snapshot is `upsert`, whole. */
  readonly created?: boolean;
  /** The group is gone. */
  readonly dropped?: boolean;
  readonly upsert: readonly EncodedResource[];
  readonly remove: readonly { readonly typeUrl: string; readonly name: string }[];
  /** Who may be served the group now, when that changed (a node group's `identities`); null: every client. */
  readonly readers?: readonly string[] | null;
}

/**
 * The state after `operations`, and what changed in the snapshots since `base`. Throws ConfigError when the
 * result is invalid (then the whole way reports it with locations).
 */
export function settleStoreWrite(
  base: LoadedState,
  operations: readonly StoreOperation[],
  cache: TranslationCache | undefined,
  tag: number,
): { state: LoadedState; changes: GroupChanges[] } {
  // Map semantics as the reloader's (a put of a held name keeps its place): both merge in the same order.
  const objects = new Map(base.objects);
  for (const o of operations) {
    const key = overlayKey(o.kind, o.name);
    // Frozen: the worker holds its objects across writes, and what is memoized by entry relies on it.
    if (o.op === "put") objects.set(key, { kind: o.kind, name: o.name, value: deepFreeze(o.value) });
    else objects.delete(key);
  }
  // With store objects left out, only the whole merge says which are left out after the write.
  const endpointsOnly =
    base.shadowed.length === 0 && operations.every((o) => o.kind === "endpoint") ? clustersWithTheirEndpoints(base, objects, operations) : undefined;
  if (endpointsOnly) {
    // Only these clusters' two resources can change; nothing else was loaded, so nothing else is compared.
    const { snapshot, change } = derivedSnapshot(null, base.snapshots.defaults, encodedOf(loadMerged(endpointsOnly, base.file, [], undefined).defaults), true);
    return { state: { ...base, tag, objects, snapshots: { ...base.snapshots, defaults: snapshot } }, changes: change ? [change] : [] };
  }
  const changes: GroupChanges[] = [];
  const derive = (key: string | null, was: Snapshot | undefined, resources: readonly ConfigResource[], readers: readonly string[] | undefined): Snapshot => {
    const { snapshot, change } = derivedSnapshot(key, was, encodedOf(resources), false, readers);
    if (change) changes.push(change);
    return snapshot;
  };
  let snapshots: ConfigSnapshots;
  let shadowed: readonly ShadowedObject[];
  try {
    const written = new Set(operations.filter((o) => o.op === "put").map((o) => overlayKey(o.kind, o.name)));
    const config = loadMerged(base.fileDocument, base.file, [...objects.values()], cache, written);
    // The file is the same: what takes a left-out object's place there is where the load located it.
    const located = new Map(base.shadowed.flatMap((s) => (s.byPath ? [[formatPath(s.byPath), s.by] as const] : [])));
    shadowed = config.shadowed.map((s) => (s.byPath && located.has(formatPath(s.byPath)) ? { ...s, by: located.get(formatPath(s.byPath))! } : s));
    snapshots = {
      defaults: derive(null, base.snapshots.defaults, config.defaults, config.readers.get("")),
      nodes: new Map([...config.nodes].map(([key, resources]) => [key, derive(key, base.snapshots.nodes.get(key), resources, config.readers.get(key))])),
    };
    for (const key of base.snapshots.nodes.keys()) if (!config.nodes.has(key)) changes.push({ key, dropped: true, upsert: [], remove: [] });
  } catch (err) {
    // A refused write changes nothing kept (translation-cache.ts), as a refused reload does not.
    cache?.discard();
    throw err;
  }
  // The write read no text: the units of the file's text stay kept for the next reload.
  cache?.commit(["yaml"]);
  return { state: { ...base, tag, objects, snapshots, shadowed }, changes };
}

/**
 * A group's snapshot after the write, derived from the one before (Snapshot.update: only the maps of the types that
 * changed are new, and the worker holds the result until the next write), and what changed. Throws ConfigError on
 * what snapshotsOf refuses (a duplicate, a missing reference): the whole way says where.
 */
function derivedSnapshot(
  key: string | null,
  was: Snapshot | undefined,
  resources: readonly EncodedResource[],
  /** `resources` are only some of the group's: the others stay as they are (nothing is removed). */
  some = false,
  /** Who may be served the group after the write; ignored when `some` (an endpoint write changes no group). */
  readers?: readonly string[],
): { snapshot: Snapshot; change?: GroupChanges } {
  const refused = (why: string) => new ConfigError([{ location: { file: storeFile }, message: `${key === null ? "top level" : `nodes."${key}"`}: ${why}` }]);
  let snapshot: Snapshot;
  let change: GroupChanges;
  if (!was) {
    try {
      snapshot = Snapshot.from(resources, readers);
    } catch (err) {
      if (err instanceof XdsdError) throw refused(err.message);
      throw err;
    }
    change = { key, created: true, upsert: resources, remove: [], ...(readers ? { readers } : {}) };
  } else {
    const names = new Map<string, Set<string>>();
    for (const r of resources) {
      let typeNames = names.get(r.typeUrl);
      if (!typeNames) names.set(r.typeUrl, (typeNames = new Set()));
      if (typeNames.has(r.name)) throw refused(`two resources of type ${r.typeUrl} are named "${r.name}"`);
      typeNames.add(r.name);
    }
    const { upsert, remove } = resourceChanges(was, resources, some ? undefined : (typeUrl, name) => names.get(typeUrl)?.has(name) === true);
    const readersChange = some ? {} : readersChangeOf(was, readers);
    if (upsert.length === 0 && remove.length === 0 && !("readers" in readersChange)) return { snapshot: was };
    snapshot = was.update({ upsert, remove, ...readersChange });
    change = { key, upsert, remove, ...readersChange };
  }
  const missing = snapshot.missingReferences()[0];
  if (missing) throw refused(`${missing.fromType} "${missing.from}" references ${missing.toType} "${missing.to}", which is not defined`);
  return { snapshot, change };
}

/**
 * A write of endpoints only changes the entries of their clusters, and nothing else: the document of just those
 * entries, merged as the whole config would merge them (store-overlay.ts withEndpoints: the cluster's entry, from
 * the file or the store, with the store's endpoints after its own), or undefined when one is not found (the whole
 * document is loaded then, and reports it). Loaded on its own, it gets every check of the entry itself
 * (addresses, duplicate endpoints, priorities); the checks across entries — names, references, the LB policies
 * gRPC listeners need, ports, on-demand routes — look at names, LB policies and listeners, which an endpoint does
 * not change. test/unit/store-writes.test.ts holds this to what loading everything says.
 */
function clustersWithTheirEndpoints(
  base: LoadedState,
  objects: ReadonlyMap<string, OverlayObject>,
  operations: readonly StoreOperation[],
): Record<string, unknown> | undefined {
  const top = isObj(base.fileDocument) ? base.fileDocument : {};
  let fileClusters = clustersByName.get(top);
  if (!fileClusters) {
    fileClusters = new Map();
    for (const c of asArray(top.clusters)) if (isObj(c) && typeof c.name === "string" && !fileClusters.has(c.name)) fileClusters.set(c.name, c);
    clustersByName.set(top, fileClusters);
  }
  const clusterOf = (name: string) => splitEndpointName(name)?.cluster ?? name;
  const names = new Set(operations.map((o) => clusterOf(o.name)));
  const added = new Map([...names].map((name) => [name, [] as OverlayObject[]]));
  for (const o of objects.values()) if (o.kind === "endpoint") added.get(clusterOf(o.name))?.push(o);
  const clusters: Record<string, unknown>[] = [];
  for (const name of names) {
    const stored = objects.get(overlayKey("cluster", name));
    const entry = stored ? entryOf(stored) : fileClusters.get(name);
    // A cluster with tls names the group's secrets, which only the whole group's load reads (config/secrets.ts).
    if (!entry || (isObj(entry) && entry.tls !== undefined)) return undefined;
    const endpoints = added.get(name)!;
    clusters.push(endpoints.length === 0 ? (entry as Record<string, unknown>) : withEndpoints(entry as Record<string, unknown>, endpoints));
  }
  // The group's config source is part of what a cluster translates to.
  return { clusters, ...(top.config_source !== undefined ? { config_source: top.config_source } : {}) };
}

/**
 * What turns the group `was` into one of `resources`: those it lacks or holds at another version, and, unless
 * `stillHas` is undefined (only some of the group's resources are given), the names it holds that are gone.
 */
function resourceChanges(
  was: Snapshot,
  resources: Iterable<EncodedResource>,
  stillHas: ((typeUrl: string, name: string) => boolean) | undefined,
): { upsert: EncodedResource[]; remove: { typeUrl: string; name: string }[] } {
  const upsert: EncodedResource[] = [];
  for (const r of resources) {
    const before = was.resources(r.typeUrl).get(r.name);
    if (before !== r && before?.version !== r.version) upsert.push(r);
  }
  const remove: { typeUrl: string; name: string }[] = [];
  if (stillHas) {
    for (const typeUrl of was.typeUrls()) for (const name of was.resources(typeUrl).keys()) if (!stillHas(typeUrl, name)) remove.push({ typeUrl, name });
  }
  return { upsert, remove };
}

/** Who may read the group is part of it (identities:, server/authorization.ts): `{readers}` when it changed. */
function readersChangeOf(was: Snapshot, readers: readonly string[] | undefined): { readers?: readonly string[] | null } {
  const before = was.readers?.patterns;
  const same =
    before === readers || (before !== undefined && readers !== undefined && before.length === readers.length && before.every((p, i) => p === readers[i]));
  return same ? {} : { readers: readers ?? null };
}

/** Each file document's top-level clusters by name. */
const clustersByName = new WeakMap<object, Map<string, Record<string, unknown>>>();

/**
 * What changed from the snapshots `before` to `after`, group by group: what a reload of the file sends to the main
 * thread instead of every resource, when the worker made `before` and the main thread serves it (applyChanges
 * derives the same snapshots there, and only the changed types' maps are new: the streams' diffs stay cheap).
 */
export function changesBetween(before: ConfigSnapshots, after: ConfigSnapshots): GroupChanges[] {
  const changes: GroupChanges[] = [];
  const group = (key: string | null, was: Snapshot | undefined, now: Snapshot) => {
    const readers = now.readers?.patterns;
    if (!was) {
      const upsert = now.typeUrls().flatMap((t) => [...now.resources(t).values()]);
      changes.push({ key, created: true, upsert, remove: [], ...(readers ? { readers } : {}) });
      return;
    }
    const { upsert, remove } = resourceChanges(
      was,
      now.typeUrls().flatMap((t) => [...now.resources(t).values()]),
      (typeUrl, name) => now.resources(typeUrl).has(name),
    );
    const readersChange = readersChangeOf(was, readers);
    if (upsert.length > 0 || remove.length > 0 || "readers" in readersChange) changes.push({ key, upsert, remove, ...readersChange });
  };
  group(null, before.defaults, after.defaults);
  for (const [key, now] of after.nodes) group(key, before.nodes.get(key), now);
  for (const key of before.nodes.keys()) if (!after.nodes.has(key)) changes.push({ key, dropped: true, upsert: [], remove: [] });
  return changes;
}

/**
 * The served snapshots with `changes` applied: the groups that changed are derived from the served ones (only
 * what changed is new), the others are the same objects, so the cache pushes nothing to their nodes. Throws when
 * the changes do not fit what is served (a group changed that is not served): the caller loads everything.
 */
export function applyChanges(served: ConfigSnapshots, changes: readonly GroupChanges[]): ConfigSnapshots {
  let defaults = served.defaults;
  const nodes = new Map(served.nodes);
  for (const c of changes) {
    if (c.dropped) {
      nodes.delete(c.key!);
      continue;
    }
    const was = c.key === null ? defaults : nodes.get(c.key);
    if (!c.created && !was) throw new Error(`the changes are for node group "${c.key}", which is not served`);
    const now = c.created ? Snapshot.from(c.upsert, c.readers ?? undefined) : was!.update({ upsert: c.upsert, remove: c.remove, readers: c.readers });
    if (c.key === null) defaults = now;
    else nodes.set(c.key, now);
  }
  return { defaults, nodes };
}
