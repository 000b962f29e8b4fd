// The config file and the store's objects loaded as one config: the file's document with the store's objects merged
// in (store-overlay.ts), through the config language's own schema, checks and translation (config/load.ts), so that
// a store object is judged exactly as the same entry written in the file. And the names the file defines, which the
// store may not take.
import { ConfigError, type SourceLocation } from "../errors.js";
import { TypeUrl } from "../resource/type-urls.js";
import type { ConfigLimits } from "../config/config-limits.js";
import { loadSource, parseConfig, type LoadedConfig } from "../config/load.js";
import { snapshotsOf, type ConfigSnapshots } from "../config/snapshots.js";
import { formatPath, type DocumentSource } from "../config/source.js";
import type { TranslationCache } from "../config/translation-cache.js";
import { UnlocatedSource } from "../config/unlocated-source.js";
import { MergedSource, storeFile, type OverlayObject } from "./store-overlay.js";

/** Layers the store's objects over a document source (none: the source as it is). */
export function withStoreObjects(overlay: readonly OverlayObject[] | undefined): ((source: DocumentSource) => DocumentSource) | undefined {
  return overlay && overlay.length > 0 ? (source) => new MergedSource(source, overlay) : undefined;
}

/**
 * The file's document as an earlier load read it (plain data), with the store's objects merged in, loaded like a
 * config text: the same schema, checks and translation, without reading the text again. Issues are located by
 * field path only (a caller that reports them reads the text with positions). The daemon's store writes
 * (daemon/store-writes.ts).
 */
export function loadMerged(fileDocument: unknown, file: string, overlay: readonly OverlayObject[], cache: TranslationCache | undefined): LoadedConfig {
  const source = UnlocatedSource.of(file, fileDocument);
  return loadSource(overlay.length > 0 ? new MergedSource(source, overlay) : source, cache);
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
    config = parseConfig(text, file, limits, { cache, layer: withStoreObjects(overlay) });
    const snapshots = snapshotsOf(config);
    cache?.commit();
    return { ...snapshots, fileNames: fileNamesOf(config), fileDocument: config.fileDocument };
  } catch (err) {
    cache?.discard();
    if (err instanceof ConfigError && config && !config.positioned) {
      const positioned = parseConfig(text, file, limits, { layer: withStoreObjects(overlay) });
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
