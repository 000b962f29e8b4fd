// Config text -> validated Envoy resources, in four passes: syntax (YAML/JSON), structure (JSON Schema), raw
// resource decoding, semantics (per node group). Each pass collects every issue it finds; the passes after
// syntax all run, so one attempt shows the user everything that is wrong. Only a config without issues is
// translated.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import type { Message } from "@bufbuild/protobuf";
import { ConfigError, type ConfigIssue, type SourceLocation } from "../errors.js";
import { TypeUrl } from "../resource/type-urls.js";
import { resourceType } from "../resource/types.js";
import { readersOf, runtimeName, ttlMsOf, type ConfigSourceKind, type GroupConfig, type ListenerConfig } from "./model.js";
import { decodeRawResource, type RawResource } from "./raw-resources.js";
import { checkSchema } from "./schema.js";
import { isJsonFile, jsonIssues, lineColumn } from "./json-syntax.js";
import { ConfigSource, formatPath, tooLargeMessage, type DocumentSource, type Path } from "./source.js";
import { UnlocatedSource, unitTextOf } from "./unlocated-source.js";
import type { TranslationCache } from "./translation-cache.js";
import { defaultConfigLimits, type ConfigLimits } from "./config-limits.js";
import { translateCluster, translateListener, translateRoutes } from "./translate.js";
import { extensionConfigTypes, translateExtensionConfig } from "./extension-configs.js";
import { translateRuntime } from "./runtime.js";
import { translateScope } from "./scoped-routes.js";
import { translateGrpcServer } from "./translate-grpc-server.js";
import { readSecrets, translateSecret, type SecretFileReader, type SecretsRead } from "./secrets.js";
import { asArray, GroupChecker, isObj } from "./validate.js";

export interface ConfigResource {
  typeUrl: string;
  name: string;
  message: Message;
  /** The config entry this resource was made from. */
  location: SourceLocation;
  /** Its TTL at the proxy, in milliseconds (config key `ttl`). */
  ttlMs?: number;
}

export interface LoadedConfig {
  file: string;
  /** Resources for nodes in no group: the top level of the config. */
  defaults: ConfigResource[];
  /** Node hash (`<node.cluster>/<node.id>` by default) -> that group's resources. */
  nodes: Map<string, ConfigResource[]>;
  /** Whether resource locations carry lines and columns (false when the fast reader read the text). */
  positioned: boolean;
  /** Each group's `config_source` (the top level's under ""), for bootstraps that must match it. */
  configSources: Map<string, ConfigSourceKind>;
  /** Who may be served each group (the top level's under ""), when the config limits it (model.ts readersOf). */
  readers: Map<string, readonly string[]>;
  /**
   * The file's own document as read (plain data, without the store's objects): what the daemon's endpoint writes
   * are merged into without reading the file again (store-writes.ts).
   */
  fileDocument: unknown;
  /** What is served all the same but wants attention (an expired certificate, a secret nothing refers to). */
  warnings: ConfigIssue[];
}

export interface ParseOptions {
  /**
   * The daemon's incremental reloads: read with the fast reader first (unlocated-source.ts), and translate only
   * entries the cache does not hold. Whatever is wrong is still reported, with positions, by the positioned reader.
   */
  cache?: TranslationCache;
  /**
   * Layers another source over the one read from the text before it is loaded: the daemon merges the store's
   * objects into the file's document this way (merge/store-overlay.ts), so that both are served as one config.
   */
  layer?: (source: DocumentSource) => DocumentSource;
  /** How secrets' files are read (secrets.ts); the daemon's config worker records them, to watch them. */
  readFile?: SecretFileReader;
}

interface Group {
  base: Path;
  value: Record<string, unknown>;
  raw: RawResource[];
  /** Its `secrets`, read and checked. */
  secrets?: SecretsRead;
  /** The names of the Secrets its resources get over SDS, as the validator found them (validate.ts references). */
  secretsUsed?: ReadonlySet<string>;
}

/** Parses and validates a config document (YAML or JSON). Throws ConfigError listing every problem found. */
export function parseConfig(text: string, file: string, limits: Partial<ConfigLimits> = {}, options: ParseOptions = {}): LoadedConfig {
  const { cache, layer = (source: DocumentSource) => source, readFile } = options;
  if (isJsonFile(file)) checkJsonSyntax(text, file, { ...defaultConfigLimits, ...limits });
  if (cache) {
    const fast = UnlocatedSource.read(text, file, limits, cache);
    if (fast) {
      try {
        return loadSource(layer(fast), cache, readFile);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // Something is wrong: read it again with positions, so that every issue says where.
      }
    }
  }
  return loadSource(layer(new ConfigSource(text, file, limits)), cache, readFile);
}

/**
 * A .json file must be JSON: what YAML's flow style allows besides (trailing commas, comments, single quotes,
 * unquoted strings) is an error there, as it is to every other JSON reader, and each error is said in JSON's terms
 * (json-syntax.ts). A text over the size limit is left to the reader that refuses it unparsed.
 */
function checkJsonSyntax(text: string, file: string, limits: ConfigLimits): void {
  if (Buffer.byteLength(text) > limits.maxBytes) return;
  const body = text.replace(/^\uFEFF/, "");
  try {
    JSON.parse(body);
  } catch {
    // Nothing found means the scan stopped at the nesting limit: the positioned reader reports that.
    const issues = jsonIssues(body, limits.maxDepth);
    if (issues.length > 0) throw new ConfigError(issues.map((i) => ({ location: { file, ...lineColumn(body, i.offset) }, message: i.message })));
  }
}

/**
 * Loads a document already read: schema, checks and translation. A source read without positions (unlocated-source.ts)
 * gives issues located by field path only; a caller that reports them reads the text again with positions.
 */
export function loadSource(source: DocumentSource, cache: TranslationCache | undefined, readFile?: SecretFileReader): LoadedConfig {
  const { file } = source;
  if (source.syntaxIssues.length > 0) throw new ConfigError(source.syntaxIssues);

  if (source.value === null || source.value === undefined) {
    throw new ConfigError([{ location: source.locate([]), message: "the config is empty; expected a mapping with clusters, listeners, resources or nodes" }]);
  }
  const schema = checkSchema(source);
  const issues: ConfigIssue[] = [...schema.issues];
  const invalid = (path: Path): boolean => {
    if (schema.invalidPaths.length === 0) return false; // the common case: no path to format per endpoint
    const p = formatPath(path);
    return schema.invalidPaths.some((q) => q === p || q.startsWith(`${p}.`) || q.startsWith(`${p}[`));
  };

  const groups: Group[] = [];
  const root = source.value;
  if (isObj(root)) {
    groups.push({ base: [], value: root, raw: [] });
    if (isObj(root.nodes)) {
      for (const [key, value] of Object.entries(root.nodes)) if (isObj(value)) groups.push({ base: ["nodes", key], value, raw: [] });
    }
  }
  const warnings: ConfigIssue[] = [];
  for (const group of groups) {
    group.secrets = readSecrets(source, group.base, group.value.secrets, invalid, readFile);
    issues.push(...group.secrets.issues);
    warnings.push(...group.secrets.warnings);
    asArray(group.value.resources).forEach((resource, i) => {
      if (!isObj(resource) || typeof resource["@type"] !== "string") return; // the schema has reported it
      const path = [...group.base, "resources", i];
      const key = cache && contentKey(resource);
      const kept = key ? cache!.get<RawResource>("raw", key) : undefined;
      const decoded = kept ? { ...kept, path } : decodeRawResource(source, resource, path);
      if (Array.isArray(decoded)) issues.push(...decoded);
      else {
        if (key && !kept) cache!.set("raw", key, decoded);
        group.raw.push(decoded);
      }
    });
    // An entry the cache translated before came from a load that had no issues (translation-cache.ts keeps only
    // what successful loads used).
    const checkedBefore = cache ? (entry: object) => cache.has("cluster", contentKey(entry)) : undefined;
    const checker = new GroupChecker(source, group.base, invalid, checkedBefore);
    issues.push(...checker.check(group.value, group.raw));
    group.secretsUsed = new Set(checker.references.filter((r) => r.typeUrl === TypeUrl.Secret).map((r) => r.name));
  }
  if (issues.length > 0) throw new ConfigError(sortByPosition(issues));

  const [top, ...nodeGroups] = groups;
  return {
    file,
    defaults: top ? translateGroup(source, top, cache, warnings) : [],
    nodes: new Map(nodeGroups.map((g) => [String(g.base[1]), translateGroup(source, g, cache, warnings)])),
    warnings,
    positioned: (source.base ?? source) instanceof ConfigSource,
    fileDocument: (source.base ?? source).value,
    configSources: new Map(groups.map((g) => [g.base.length === 0 ? "" : String(g.base[1]), (g.value as GroupConfig).config_source ?? "ads"])),
    readers: new Map(
      groups.flatMap((g) => {
        const readers = readersOf(g.value as GroupConfig, (top?.value ?? {}) as GroupConfig);
        return readers ? [[g.base.length === 0 ? "" : String(g.base[1]), readers] as const] : [];
      }),
    ),
  };
}

/** Reads a config file; a file that can't be read is reported like any other config problem. */
export function loadConfigFile(path: string, limits: Partial<ConfigLimits> = {}): LoadedConfig {
  return parseConfig(readConfigText(path, limits.maxBytes), path, limits);
}

/**
 * The text of a config file, refused without reading it when it is over `maxBytes` (a file written over the watched
 * one can be any size). Read through one descriptor, so a file that grows between the size check and the read is
 * still cut at the limit and refused.
 */
export function readConfigText(path: string, maxBytes = defaultConfigLimits.maxBytes): string {
  return readConfigBytes(path, maxBytes).toString("utf8");
}

/** readConfigText's bytes, before decoding (the config worker hashes them to tell an unchanged file). */
export function readConfigBytes(path: string, maxBytes = defaultConfigLimits.maxBytes): Buffer {
  let fd: number | undefined;
  try {
    // Non-blocking: opening a FIFO (or a device) put at the config path must not hang the loader; only regular
    // files are read.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    if (!stat.isFile()) throw Object.assign(new Error("is not a regular file"), { code: "ENOTREG" });
    if (stat.size > maxBytes) throw new ConfigError([{ location: { file: path }, message: tooLargeMessage(stat.size, maxBytes) }]);
    // Read to the end (the file may have grown since fstat), but never more than one byte past the limit.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(maxBytes + 1 - length, Math.max(stat.size + 1 - length, 64 * 1024)));
      const n = chunk.length === 0 ? 0 : readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      if (length > maxBytes) throw new ConfigError([{ location: { file: path }, message: tooLargeMessage(length, maxBytes) }]);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    const reason =
      err.code === "ENOENT"
        ? "no such file"
        : err.code === "EISDIR"
          ? "is a directory, not a config file"
          : err.code === "ENOTREG"
            ? "not a regular file"
            : err.message;
    throw new ConfigError([{ location: { file: path }, message: `cannot read config file: ${reason}` }]);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Where a config entry is, looked up when first asked (an issue, or the write API naming what the file defines):
 * a store write loads every entry again (store-writes.ts) and asks where none of them is.
 */
class EntryAt {
  #location: SourceLocation | undefined;

  constructor(
    private readonly source: DocumentSource,
    private readonly base: Path,
    private readonly list: string,
    private readonly index: number,
  ) {}

  get location(): SourceLocation {
    this.#location ??= this.source.locate([...this.base, this.list, this.index]);
    return this.#location;
  }
}

/** A resource translated from a short-form entry. */
class EntryResource implements ConfigResource {
  constructor(
    readonly typeUrl: string,
    readonly name: string,
    readonly message: Message,
    private readonly entry: EntryAt,
    readonly ttlMs?: number,
  ) {}

  get location(): SourceLocation {
    return this.entry.location;
  }
}

function translateGroup(source: DocumentSource, group: Group, cache: TranslationCache | undefined, warnings: ConfigIssue[]): ConfigResource[] {
  const out: ConfigResource[] = [];
  const config = group.value as GroupConfig;
  /** An entry's translation: from the cache when an entry with the same content was translated before. */
  const fetchedFrom = config.config_source ?? "ads";
  const translated = <T>(kind: "cluster" | "listener", entry: unknown, translate: () => T, context = ""): T => {
    if (!cache) return translate();
    // The group's config source is part of what an entry translates to, and so is `context` (what other entries
    // tell it).
    const key = `${fetchedFrom === "ads" ? "" : `${fetchedFrom}\u0000`}${context}${contentKey(entry)}`;
    let value = cache.get<T>(kind, key);
    if (value === undefined) cache.set(kind, key, (value = translate()));
    return value;
  };
  // Clusters served on demand, short-form or raw: a listener routing to one gets on-demand CDS.
  const onDemandClusters = new Set<string>();
  for (const c of config.clusters ?? []) if (c.on_demand) onDemandClusters.add(c.name);
  for (const r of group.raw) if (resourceType(r.typeUrl).onDemandOf?.(r.message as never)) onDemandClusters.add(r.name);
  (config.clusters ?? []).forEach((c, i) => {
    const entry = new EntryAt(source, group.base, "clusters", i);
    const { cluster, endpoints } = translated("cluster", c, () => translateCluster(c, fetchedFrom));
    out.push(new EntryResource(TypeUrl.Cluster, c.name, cluster, entry, ttlMsOf(c.ttl)));
    out.push(new EntryResource(TypeUrl.ClusterLoadAssignment, c.name, endpoints, entry));
  });
  const extensionTypes = extensionConfigTypes(config, group.raw);
  (config.listeners ?? []).forEach((l, i) => {
    const entry = new EntryAt(source, group.base, "listeners", i);
    const odcds = onDemandClusters.size > 0 && routedClusters(l).some((name) => onDemandClusters.has(name));
    // A filter fetched over ECDS accepts the type of its extension config, another entry: part of the context.
    const fetchedTypes = (l.http_filters ?? []).flatMap((f) =>
      "extension_config" in f ? [`${f.extension_config}=${extensionTypes.get(f.extension_config)}`] : [],
    );
    const context = `${odcds ? "odcds\u0000" : ""}${fetchedTypes.length > 0 ? `ecds:${fetchedTypes.join(",")}\u0000` : ""}`;
    const { listener, routes, virtualHosts } = translated(
      "listener",
      l,
      () => translateListener(l, fetchedFrom, { odcds, extensionConfigTypes: extensionTypes }),
      context,
    );
    out.push(new EntryResource(TypeUrl.Listener, listener.name, listener, entry, ttlMsOf(l.ttl)));
    if (routes) out.push(new EntryResource(TypeUrl.RouteConfiguration, routes.name, routes, entry));
    for (const v of virtualHosts) out.push(new EntryResource(TypeUrl.VirtualHost, v.name, v, entry));
  });
  out.push(...translateDynamicEntries(source, group.base, config));
  (config.grpc_servers ?? []).forEach((s, i) => {
    const entry = new EntryAt(source, group.base, "grpc_servers", i);
    const { listener, routes } = translated("listener", s, () => translateGrpcServer(s), "grpc_server\u0000");
    out.push(new EntryResource(TypeUrl.Listener, listener.name, listener, entry, ttlMsOf(s.ttl)));
    out.push(new EntryResource(TypeUrl.RouteConfiguration, routes.name, routes, entry));
  });
  for (const r of group.raw) out.push({ typeUrl: r.typeUrl, name: r.name, message: r.message, location: source.locate(r.path), ttlMs: r.ttlMs });
  out.push(...translateSecrets(source, group, config, warnings));
  return out;
}

/**
 * The group's `secrets` its listeners and clusters refer to (short-form `tls`, raw resources' SDS configs): a node
 * is sent only the keys its own group uses; one nothing refers to is not served, and a warning says so.
 */
function translateSecrets(source: DocumentSource, group: Group, config: GroupConfig, warnings: ConfigIssue[]): ConfigResource[] {
  const entries = config.secrets ?? [];
  if (entries.length === 0) return [];
  const used = group.secretsUsed ?? new Set<string>();
  const out: ConfigResource[] = [];
  entries.forEach((e, i) => {
    const path = [...group.base, "secrets", i];
    const material = group.secrets?.materials[i];
    if (!used.has(e.name)) {
      warnings.push({
        location: source.locate(path),
        message: `secret "${e.name}" is not served: no listener or cluster of this group refers to it in its tls`,
      });
    } else if (material) {
      out.push(new ResourceAt(TypeUrl.Secret, e.name, translateSecret(e.name, material), source, path));
    }
  });
  return out;
}

/**
 * The group's runtime (RTDS), extension configs (ECDS) and scopes (SRDS), with the route tables scopes have of
 * their own: few entries, translated on every load.
 */
function translateDynamicEntries(source: DocumentSource, base: Path, config: GroupConfig): ConfigResource[] {
  const out: ConfigResource[] = [];
  const add = (typeUrl: string, name: string, message: Message, path: Path) => {
    out.push(new ResourceAt(typeUrl, name, message, source, [...base, ...path]));
  };
  if (config.runtime !== undefined) add(TypeUrl.Runtime, runtimeName, translateRuntime(config.runtime), ["runtime"]);
  for (const [i, e] of (config.extension_configs ?? []).entries()) add(TypeUrl.ExtensionConfig, e.name, translateExtensionConfig(e), ["extension_configs", i]);
  for (const [i, scope] of (config.scopes ?? []).entries()) {
    add(TypeUrl.ScopedRouteConfiguration, scope.name, translateScope(scope), ["scopes", i]);
    if (scope.virtual_hosts) add(TypeUrl.RouteConfiguration, scope.name, translateRoutes(scope.name, scope.virtual_hosts), ["scopes", i]);
  }
  return out;
}

/** A resource translated from the entry at `path`, located when asked. */
class ResourceAt implements ConfigResource {
  constructor(
    readonly typeUrl: string,
    readonly name: string,
    readonly message: Message,
    private readonly source: DocumentSource,
    private readonly path: Path,
  ) {}

  get location(): SourceLocation {
    return this.source.locate(this.path);
  }
}

/** The clusters a short-form listener's routes send traffic to. */
function routedClusters(listener: ListenerConfig): string[] {
  return (listener.virtual_hosts ?? []).flatMap((v) =>
    v.routes.flatMap((r) => (r.cluster !== undefined ? [r.cluster] : (r.weighted_clusters ?? []).map((w) => w.name))),
  );
}

/**
 * An entry's content as a cache key. JSON.stringify alone writes NaN and ±Infinity as null and -0 as 0, so an edit
 * from `null` to `.nan` (which protobuf-es refuses for a double) would hit the cache of the valid entry.
 */
function contentKey(value: unknown): string {
  // An entry read as a unit of its own (unlocated-source.ts): its text determines its content, and is at hand.
  const text = unitTextOf(value);
  if (text !== undefined) return text;
  const frozen = typeof value === "object" && value !== null && Object.isFrozen(value);
  const kept = frozen ? contentKeys.get(value) : undefined;
  if (kept !== undefined) return kept;
  const key = JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? `\u0000number:${Object.is(v, -0) ? "-0" : String(v)}` : v,
  );
  if (frozen) contentKeys.set(value, key);
  return key;
}

/** The content keys of frozen entries (store objects as the config worker holds them): their content is fixed. */
const contentKeys = new WeakMap<object, string>();

function sortByPosition(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.location.line ?? 0) - (b.issue.location.line ?? 0) || (a.issue.location.column ?? 0) - (b.issue.location.column ?? 0) || a.i - b.i)
    .map(({ issue }) => issue);
}
