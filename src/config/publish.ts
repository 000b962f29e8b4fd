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
import { fileNamesOf as namesInDocument, type OverlayObject, type ShadowedObject } from "./store-overlay.js";
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
  /** The overlay's objects being written (store-overlay.ts: their clashes are issues). */
  written?: ReadonlySet<string>,
): ConfigSnapshots & { fileNames: FileName[]; fileDocument: unknown; shadowed: readonly ShadowedObject[] } {
  let config: LoadedConfig | undefined;
  const loaded = (c: LoadedConfig) => ({ ...snapshotsOf(c), fileNames: fileNamesOf(c), fileDocument: c.fileDocument, shadowed: c.shadowed });
  try {
    config = parseConfig(text, file, limits, { cache, overlay, written });
    const result = loaded(config);
    cache?.commit();
    return result;
  } catch (err) {
    cache?.discard();
    if (err instanceof ConfigError && config && !config.positioned) return loaded(parseConfig(text, file, limits, { overlay, written }));
    throw err;
  }
}

/** A name the config file defines, and where: the write API refuses to change it (the file manages it). */
export interface FileName {
  kind: "cluster" | "listener" | "resource" | "node-group";
  name: string;
  location: SourceLocation;
}

/** The names the file manages (store-overlay.ts fileNamesOf: the same rule leaves a store object out of the merge). */
function fileNamesOf(config: LoadedConfig): FileName[] {
  const out: FileName[] = [];
  for (const n of namesInDocument(config.fileDocument).values()) {
    if (!n.clashOnly) out.push({ kind: n.kind as FileName["kind"], name: n.name, location: { file: config.file, path: formatPath(n.path) } });
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
