// A config's snapshots in a form that crosses from the config worker thread to the main thread cheaply: every
// resource's encoded bytes in one buffer per group (transferred, not copied), and flat arrays of names, versions
// and references. Structured-cloning the protobuf messages instead took 1.4 s for 20,000 clusters on the main
// thread, which is exactly what the worker is there to spare it.
import { Snapshot } from "../cache/snapshot.js";
import { encodedResourceFromBytes, type EncodedResource } from "../resource/encoded-resource.js";
import type { ResourceReference } from "../resource/types.js";
import type { ConfigSnapshots } from "../config/snapshots.js";
import type { GroupChanges } from "./store-writes.js";

/** Encoded resources as flat arrays and one buffer of their bytes. */
export interface TransferableResources {
  typeUrls: string[];
  names: string[];
  versions: string[];
  /** Each resource's TTL in milliseconds, 0 for none. */
  ttls: number[];
  /** End offset in `bytes` of each resource's encoding. */
  ends: Uint32Array;
  bytes: Uint8Array;
  /** Number of references of each resource, then the references of all of them in order. */
  referenceCounts: Uint32Array;
  referenceTypeUrls: string[];
  referenceNames: string[];
  /** Indexes of the resources served on demand only (EncodedResource.onDemand). */
  onDemand: number[];
}

export interface TransferableGroup extends TransferableResources {
  /** Node group key; null for the default snapshot. */
  key: string | null;
  /** Who may be served it (Snapshot.readers, as written); absent: every client. */
  readers?: readonly string[];
}

export interface TransferableSnapshots {
  groups: TransferableGroup[];
}

export function toTransferable(snapshots: ConfigSnapshots): { payload: TransferableSnapshots; transfer: ArrayBuffer[] } {
  const groups = [groupOf(null, snapshots.defaults), ...[...snapshots.nodes].map(([key, s]) => groupOf(key, s))];
  return { payload: { groups }, transfer: groups.map((g) => g.bytes.buffer as ArrayBuffer) };
}

export function fromTransferable(payload: TransferableSnapshots): ConfigSnapshots {
  const [defaults, ...nodes] = payload.groups.map((g) => [g.key, snapshotOf(g)] as const);
  return { defaults: defaults[1], nodes: new Map(nodes.map(([key, s]) => [key!, s])) };
}

/** A store write's changes (store-writes.ts), group by group: only the changed resources' bytes cross. */
export interface TransferableGroupChanges extends Omit<GroupChanges, "upsert"> {
  readonly upsert: TransferableResources;
}

export function changesToTransferable(changes: readonly GroupChanges[]): { payload: TransferableGroupChanges[]; transfer: ArrayBuffer[] } {
  const payload = changes.map((c) => ({ ...c, upsert: resourcesToTransferable(c.upsert) }));
  return { payload, transfer: payload.map((c) => c.upsert.bytes.buffer as ArrayBuffer) };
}

export function changesFromTransferable(payload: readonly TransferableGroupChanges[]): GroupChanges[] {
  return payload.map((c) => ({ ...c, upsert: resourcesFromTransferable(c.upsert) }));
}

function groupOf(key: string | null, snapshot: Snapshot): TransferableGroup {
  const readers = snapshot.readers?.patterns;
  return { key, ...(readers ? { readers } : {}), ...resourcesToTransferable(snapshot.typeUrls().flatMap((t) => [...snapshot.resources(t).values()])) };
}

function snapshotOf(g: TransferableGroup): Snapshot {
  return Snapshot.from(resourcesFromTransferable(g), g.readers);
}

/** Resources for postMessage; transfer `bytes.buffer`. */
export function resourcesToTransferable(resources: readonly EncodedResource[]): TransferableResources {
  const bytes = new Uint8Array(resources.reduce((n, r) => n + r.any.value.length, 0));
  const ends = new Uint32Array(resources.length);
  const referenceCounts = new Uint32Array(resources.length);
  const group: TransferableResources = {
    typeUrls: [],
    names: [],
    versions: [],
    ttls: [],
    ends,
    bytes,
    referenceCounts,
    referenceTypeUrls: [],
    referenceNames: [],
    onDemand: [],
  };
  let offset = 0;
  resources.forEach((r, i) => {
    group.typeUrls.push(r.typeUrl);
    group.names.push(r.name);
    group.versions.push(r.version);
    group.ttls.push(r.ttlMs ?? 0);
    bytes.set(r.any.value, offset);
    ends[i] = offset += r.any.value.length;
    referenceCounts[i] = r.references.length;
    if (r.onDemand) group.onDemand.push(i);
    for (const ref of r.references) {
      group.referenceTypeUrls.push(ref.typeUrl);
      group.referenceNames.push(ref.name);
    }
  });
  return group;
}

export function resourcesFromTransferable(g: TransferableResources): EncodedResource[] {
  const resources: EncodedResource[] = [];
  let start = 0;
  let ref = 0;
  const onDemand = new Set(g.onDemand);
  for (let i = 0; i < g.names.length; i++) {
    const references: ResourceReference[] = [];
    for (let k = 0; k < g.referenceCounts[i]; k++, ref++) references.push({ typeUrl: g.referenceTypeUrls[ref], name: g.referenceNames[ref] });
    resources.push(
      encodedResourceFromBytes(
        g.typeUrls[i],
        g.names[i],
        g.versions[i],
        g.bytes.subarray(start, g.ends[i]),
        references,
        onDemand.has(i),
        g.ttls[i] || undefined,
      ),
    );
    start = g.ends[i];
  }
  return resources;
}
