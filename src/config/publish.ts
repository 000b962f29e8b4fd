// From a loaded config to the snapshots the cache serves: one for the top level (the default snapshot, for every
// node without a group of its own) and one per node group.
import { Snapshot } from "../cache/snapshot.js";
import { encodeResource, withTtl, type EncodedResource } from "../resource/encoded-resource.js";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import { ConfigError, XdsdError, type ConfigIssue, type SourceLocation } from "../errors.js";
import type { ConfigResource, LoadedConfig } from "./index.js";
import { parseConfig } from "./load.js";
import type { ConfigLimits } from "./config-limits.js";
import type { TranslationCache } from "./translation-cache.js";
import { storeFile, type OverlayObject } from "./store-overlay.js";
import { TypeUrl } from "../resource/type-urls.js";
import { formatPath } from "./source.js";

export interface ConfigSnapshots {
  defaults: Snapshot;
  nodes: Map<string, Snapshot>;
}

/**
 * Builds every snapshot and runs the cache's checks (unique names, every reference resolved) so that a config is
 * refused as a whole, with locations, before anything is published.
 */
export function snapshotsOf(config: LoadedConfig): ConfigSnapshots {
  const issues: ConfigIssue[] = [];
  const build = (resources: ConfigResource[], group: string): Snapshot => {
    try {
      const snapshot = Snapshot.from(encodedOf(resources));
      for (const m of snapshot.missingReferences()) {
        const holder = resources.find((r) => r.typeUrl === m.fromType && r.name === m.from);
        issues.push({
          location: holder?.location ?? { file: config.file },
          message: `${group}: ${shortType(m.fromType)} "${m.from}" references ${shortType(m.toType)} "${m.to}", which is not defined`,
        });
      }
      return snapshot;
    } catch (err) {
      if (!(err instanceof XdsdError)) throw err;
      issues.push({ location: { file: config.file }, message: `${group}: ${err.message}` });
      return Snapshot.from([]);
    }
  };
  const defaults = build(config.defaults, "top level");
  const nodes = new Map([...config.nodes].map(([key, resources]) => [key, build(resources, `nodes."${key}"`)]));
  if (issues.length > 0) throw new ConfigError(issues);
  return { defaults, nodes };
}

/** A config's resources as the snapshot holds them: encoded, with their TTL. */
export function encodedOf(resources: readonly ConfigResource[]): EncodedResource[] {
  return resources.map((r) => (r.ttlMs === undefined ? encodeResource(r.message) : withTtl(r.message, r.ttlMs)));
}

/**
 * Config text → snapshots, as the daemon reloads it: with a cache, through the fast reader and the entries already
 * translated; any problem, including one only the snapshot checks find, is reported from a positioned read.
 */
export function snapshotsOfText(
  text: string,
  file: string,
  limits: Partial<ConfigLimits> = {},
  cache?: TranslationCache,
  overlay?: readonly OverlayObject[],
): ConfigSnapshots & { fileNames: FileName[]; fileDocument: unknown } {
  let config: LoadedConfig | undefined;
  try {
    config = parseConfig(text, file, limits, { cache, overlay });
    const snapshots = snapshotsOf(config);
    cache?.commit();
    return { ...snapshots, fileNames: fileNamesOf(config), fileDocument: config.fileDocument };
  } catch (err) {
    cache?.discard();
    if (err instanceof ConfigError && config && !config.positioned) {
      const positioned = parseConfig(text, file, limits, { overlay });
      return { ...snapshotsOf(positioned), fileNames: fileNamesOf(positioned), fileDocument: positioned.fileDocument };
    }
    throw err;
  }
}

/** A name the config file defines, and where: the write API refuses to change it (the file manages it). */
export interface FileName {
  kind: "cluster" | "listener" | "resource" | "node-group";
  name: string;
  location: SourceLocation;
}

function fileNamesOf(config: LoadedConfig): FileName[] {
  const out: FileName[] = [];
  const kindOf: Record<string, FileName["kind"]> = { [TypeUrl.Cluster]: "cluster", [TypeUrl.Listener]: "listener" };
  for (const r of config.defaults) {
    if (r.location.file === storeFile) continue;
    const kind = kindOf[r.typeUrl];
    if (kind) out.push({ kind, name: r.name, location: r.location });
    // A raw resource is the file's under its type too: the API names raw resources `<type URL>/<name>`.
    if (r.location.path?.startsWith("resources[")) out.push({ kind: "resource", name: `${r.typeUrl}/${r.name}`, location: r.location });
  }
  // A node group is the file's when the file's own document has it (the store's groups are merged in beside).
  const fileGroups = (config.fileDocument as { nodes?: unknown } | null | undefined)?.nodes;
  for (const [key, resources] of config.nodes) {
    if (typeof fileGroups !== "object" || fileGroups === null || !Object.hasOwn(fileGroups, key)) continue;
    const from = resources.find((r) => r.location.file !== storeFile);
    out.push({ kind: "node-group", name: key, location: from?.location ?? { file: config.file, path: formatPath(["nodes", key]) } });
  }
  return out;
}

/** Publishes a config's snapshots: the default one, and each group's; groups no longer in the config are dropped. */
export function publish(cache: SnapshotCache, snapshots: ConfigSnapshots): void {
  cache.replaceAll(snapshots.defaults, snapshots.nodes);
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}
