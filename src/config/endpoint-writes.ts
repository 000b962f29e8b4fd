// A store write that changes only endpoints — registering, deregistering, draining one — costs what it changes:
// the clusters whose endpoints changed are assembled as the merged document would have them (store-overlay.ts: the
// cluster's entry, from the file or the store, with the store's endpoints after its own) and loaded on their own,
// through the same schema, checks and translation as the whole config (load.ts loadDocument). Nothing else is
// read, checked or translated again, and only these clusters' resources reach the main thread, where they update
// the served snapshot (Snapshot.update).
//
// Why that is the same verdict as loading everything: an endpoint is part of its cluster's entry and of nothing
// else. The checks across entries — names, references, the LB policies gRPC listeners need, ports, on-demand
// routes — look at names, LB policies and listeners, which an endpoint write does not change; the checks of the
// entry itself (addresses, duplicate endpoints, priorities) run here in full. Whatever this path cannot settle
// (a cluster it does not find, any issue at all) goes the whole way, which reports issues with their locations.
import { ConfigError } from "../errors.js";
import type { EncodedResource } from "../resource/encoded-resource.js";
import type { ObjectValue } from "../store/store.js";
import { loadDocument } from "./load.js";
import { encodedOf } from "./publish.js";
import { asArray, isObj } from "./validate.js";

export interface ClusterEndpointsChange {
  /** The cluster whose registered endpoints changed. */
  readonly name: string;
  /** Its store object's value when the store defines the cluster; absent when the file does (at its top level). */
  readonly stored?: ObjectValue;
  /** Every endpoint the store registers for it after the write, in store order. */
  readonly endpoints: readonly ObjectValue[];
}

/** Each file document's top-level clusters by name. */
const fileClusters = new WeakMap<object, Map<string, Record<string, unknown>>>();

/**
 * The Cluster and ClusterLoadAssignment of each changed cluster, encoded, from the file's document as last loaded;
 * undefined when this path cannot settle the write (then the whole config is loaded).
 */
export function clusterEndpointsUpdate(fileDocument: unknown, file: string, changes: readonly ClusterEndpointsChange[]): EncodedResource[] | undefined {
  const top = isObj(fileDocument) ? fileDocument : {};
  let byName = fileClusters.get(top);
  if (!byName) {
    byName = new Map();
    for (const c of asArray(top.clusters)) if (isObj(c) && typeof c.name === "string" && !byName.has(c.name)) byName.set(c.name, c);
    fileClusters.set(top, byName);
  }
  const entries: Record<string, unknown>[] = [];
  for (const c of changes) {
    const base = c.stored ? { ...c.stored, name: c.name } : byName.get(c.name);
    if (!base) return undefined;
    entries.push(c.endpoints.length === 0 ? base : { ...base, endpoints: [...asArray(base.endpoints), ...c.endpoints] });
  }
  // The group's config source is part of what a cluster translates to.
  const document = { clusters: entries, ...(top.config_source !== undefined ? { config_source: top.config_source } : {}) };
  try {
    return encodedOf(loadDocument(document, file).defaults);
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}
