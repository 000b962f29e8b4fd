// From a loaded config to the snapshots the cache serves: one for the top level (the default snapshot, for every
// node without a group of its own) and one per node group.
import { Snapshot } from "../cache/snapshot.js";
import { withTtl } from "../resource/encoded-resource.js";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import { ConfigError, XdsdError, type ConfigIssue } from "../errors.js";
import type { ConfigResource, LoadedConfig } from "./index.js";
import { parseConfig } from "./load.js";
import type { ConfigLimits } from "./config-limits.js";
import type { TranslationCache } from "./translation-cache.js";
import type { OverlayObject } from "./store-overlay.js";

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
      const snapshot = Snapshot.from(resources.map((r) => (r.ttlMs === undefined ? r.message : withTtl(r.message, r.ttlMs))));
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
): ConfigSnapshots {
  let config: LoadedConfig | undefined;
  try {
    config = parseConfig(text, file, limits, { cache, overlay });
    const snapshots = snapshotsOf(config);
    cache?.commit();
    return snapshots;
  } catch (err) {
    cache?.discard();
    if (err instanceof ConfigError && config && !config.positioned) return snapshotsOf(parseConfig(text, file, limits, { overlay }));
    throw err;
  }
}

/** Publishes a config's snapshots: the default one, and each group's; groups no longer in the config are dropped. */
export function publish(cache: SnapshotCache, snapshots: ConfigSnapshots): void {
  cache.replaceAll(snapshots.defaults, snapshots.nodes);
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}
