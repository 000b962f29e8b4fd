// The config file and the store's objects loaded as one config: the file's document with the store's objects merged
// in (store-overlay.ts), through the config language's own schema, checks and translation (config/load.ts), so that
// a store object is judged exactly as the same entry written in the file. And the names the file defines, which the
// store may not take.
import { ConfigError, type SourceLocation } from "../errors.js";
import type { CollectionKind } from "../store/store.js";
import type { ConfigLimits } from "../config/config-limits.js";
import { loadSource, parseConfig, type LoadedConfig } from "../config/load.js";
import { snapshotsOf, type ConfigSnapshots } from "../config/snapshots.js";
import { formatPath, type DocumentSource } from "../config/source.js";
import type { TranslationCache } from "../config/translation-cache.js";
import type { SecretFileReader } from "../config/secrets.js";
import { UnlocatedSource } from "../config/unlocated-source.js";
import { MergedSource, fileNamesOf as namesInDocument, type OverlayObject, type ShadowedObject } from "./store-overlay.js";

/** A load with the store's objects merged in, and those left out of the merge (store-overlay.ts: shadowed). */
export type MergedConfig = LoadedConfig & { readonly shadowed: readonly ShadowedObject[] };

/**
 * Layers the store's objects over a document source (none: the source as it is), remembering the merged source so
 * that what it left out can be read after the load. `written`: the objects being written, whose clashes are issues.
 */
function storeLayer(overlay: readonly OverlayObject[] | undefined, written?: ReadonlySet<string>) {
  let merged: MergedSource | undefined;
  const layer = overlay && overlay.length > 0 ? (source: DocumentSource) => (merged = new MergedSource(source, overlay, written)) : undefined;
  return { layer, shadowed: () => merged?.shadowed ?? [] };
}

/** Layers the store's objects over a document source (none: the source as it is). */
export function withStoreObjects(
  overlay: readonly OverlayObject[] | undefined,
  written?: ReadonlySet<string>,
): ((source: DocumentSource) => DocumentSource) | undefined {
  return storeLayer(overlay, written).layer;
}

/**
 * The file's document as an earlier load read it (plain data), with the store's objects merged in, loaded like a
 * config text: the same schema, checks and translation, without reading the text again. Issues are located by
 * field path only (a caller that reports them reads the text with positions). The daemon's store writes
 * (daemon/store-writes.ts).
 */
export function loadMerged(
  fileDocument: unknown,
  file: string,
  overlay: readonly OverlayObject[],
  cache: TranslationCache | undefined,
  written?: ReadonlySet<string>,
): MergedConfig {
  const { layer, shadowed } = storeLayer(overlay, written);
  const source = UnlocatedSource.of(file, fileDocument);
  const config = loadSource(layer ? layer(source) : source, cache);
  return { ...config, shadowed: shadowed() };
}

/** Config text with the store's objects merged in (config/load.ts parseConfig, through the store's layer). */
export function parseMerged(
  text: string,
  file: string,
  limits: Partial<ConfigLimits> = {},
  options: { cache?: TranslationCache; overlay?: readonly OverlayObject[]; written?: ReadonlySet<string>; readFile?: SecretFileReader } = {},
): MergedConfig {
  const { layer, shadowed } = storeLayer(options.overlay, options.written);
  const config = parseConfig(text, file, limits, { cache: options.cache, layer, readFile: options.readFile });
  return { ...config, shadowed: shadowed() };
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
  /** How secrets' files are read (config/secrets.ts). */
  readFile?: SecretFileReader,
): ConfigSnapshots & { fileNames: FileName[]; fileDocument: unknown; shadowed: readonly ShadowedObject[]; warnings: LoadedConfig["warnings"] } {
  let config: MergedConfig | undefined;
  const result = (c: MergedConfig) => ({
    ...snapshotsOf(c),
    fileNames: fileNamesOf(c),
    fileDocument: c.fileDocument,
    shadowed: c.shadowed,
    warnings: c.warnings,
  });
  try {
    config = parseMerged(text, file, limits, { cache, overlay, written, readFile });
    const out = result(config);
    cache?.commit();
    return out;
  } catch (err) {
    cache?.discard();
    if (err instanceof ConfigError && config && !config.positioned) return result(parseMerged(text, file, limits, { overlay, written, readFile }));
    throw err;
  }
}

/** A name the config file defines, and where: the write API refuses to change it (the file manages it). */
export interface FileName {
  kind: CollectionKind;
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
