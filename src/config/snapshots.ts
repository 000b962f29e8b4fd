// From a loaded config to the snapshots the cache serves: one for the top level (the default snapshot, for every
// node without a group of its own) and one per node group.
import { Snapshot } from "../cache/snapshot.js";
import type { SnapshotCache } from "../cache/snapshot-cache.js";
import { encodeResource, withTtl, type EncodedResource } from "../resource/encoded-resource.js";
import { ConfigError, XdsdError, type ConfigIssue } from "../errors.js";
import type { ConfigResource, LoadedConfig } from "./load.js";
import { simpleNameOf } from "../resource/type-urls.js";

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
  const build = (resources: ConfigResource[], group: string, key: string): Snapshot => {
    try {
      const snapshot = Snapshot.from(encodedOf(resources), config.readers.get(key));
      for (const m of snapshot.missingReferences()) {
        const holder = resources.find((r) => r.typeUrl === m.fromType && r.name === m.from);
        issues.push({
          location: holder?.location ?? { file: config.file },
          message: `${group}: ${simpleNameOf(m.fromType)} "${m.from}" references ${simpleNameOf(m.toType)} "${m.to}", which is not defined`,
        });
      }
      return snapshot;
    } catch (err) {
      if (!(err instanceof XdsdError)) throw err;
      issues.push({ location: { file: config.file }, message: `${group}: ${err.message}` });
      return Snapshot.from([], config.readers.get(key));
    }
  };
  const defaults = build(config.defaults, "top level", "");
  const nodes = new Map([...config.nodes].map(([key, resources]) => [key, build(resources, `nodes."${key}"`, key)]));
  if (issues.length > 0) throw new ConfigError(issues);
  return { defaults, nodes };
}

/** A config's resources as the snapshot holds them: encoded, with their TTL. */
export function encodedOf(resources: readonly ConfigResource[]): EncodedResource[] {
  return resources.map((r) => (r.ttlMs === undefined ? encodeResource(r.message) : withTtl(r.message, r.ttlMs)));
}

/** Publishes a config's snapshots: the default one, and each group's; groups no longer in the config are dropped. */
export function publish(cache: SnapshotCache, snapshots: ConfigSnapshots): void {
  cache.replaceAll(snapshots.defaults, snapshots.nodes);
}
