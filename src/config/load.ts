// Config text -> validated Envoy resources, in four passes: syntax (YAML/JSON), structure (JSON Schema), raw
// resource decoding, semantics (per node group). Each pass collects every issue it finds; the passes after
// syntax all run, so one attempt shows the user everything that is wrong. Only a config without issues is
// translated.
import { readFileSync } from "node:fs";
import type { Message } from "@bufbuild/protobuf";
import { ConfigError, type ConfigIssue, type SourceLocation } from "../errors.js";
import { TypeUrl } from "../resource/type-urls.js";
import type { GroupConfig } from "./model.js";
import { decodeRawResource, type RawResource } from "./raw-resources.js";
import { checkSchema } from "./schema.js";
import { ConfigSource, formatPath, type Path } from "./source.js";
import { translateCluster, translateListener } from "./translate.js";
import { asArray, GroupChecker, isObj } from "./validate.js";

export interface ConfigResource {
  typeUrl: string;
  name: string;
  message: Message;
  /** The config entry this resource was made from. */
  location: SourceLocation;
}

export interface LoadedConfig {
  file: string;
  /** Resources for nodes in no group: the top level of the config. */
  defaults: ConfigResource[];
  /** Node hash (`<node.cluster>/<node.id>` by default) -> that group's resources. */
  nodes: Map<string, ConfigResource[]>;
}

interface Group {
  base: Path;
  value: Record<string, unknown>;
  raw: RawResource[];
}

/** Parses and validates a config document (YAML or JSON). Throws ConfigError listing every problem found. */
export function parseConfig(text: string, file: string): LoadedConfig {
  const source = new ConfigSource(text, file);
  if (source.syntaxIssues.length > 0) throw new ConfigError(source.syntaxIssues);

  if (source.value === null || source.value === undefined) {
    throw new ConfigError([{ location: source.locate([]), message: "the config is empty; expected a mapping with clusters, listeners, resources or nodes" }]);
  }
  const schema = checkSchema(source);
  const issues: ConfigIssue[] = [...schema.issues];
  const invalid = (path: Path): boolean => {
    const p = formatPath(path);
    return schema.invalidPaths.some((q) => q === p || q.startsWith(p + ".") || q.startsWith(p + "["));
  };

  const groups: Group[] = [];
  const root = source.value;
  if (isObj(root)) {
    groups.push({ base: [], value: root, raw: [] });
    if (isObj(root.nodes)) {
      for (const [key, value] of Object.entries(root.nodes)) if (isObj(value)) groups.push({ base: ["nodes", key], value, raw: [] });
    }
  }
  for (const group of groups) {
    asArray(group.value.resources).forEach((resource, i) => {
      if (!isObj(resource) || typeof resource["@type"] !== "string") return; // the schema has reported it
      const decoded = decodeRawResource(source, resource, [...group.base, "resources", i]);
      if (Array.isArray(decoded)) issues.push(...decoded);
      else group.raw.push(decoded);
    });
    issues.push(...new GroupChecker(source, group.base, invalid).check(group.value, group.raw));
  }
  if (issues.length > 0) throw new ConfigError(sortByPosition(issues));

  const [top, ...nodeGroups] = groups;
  return {
    file,
    defaults: top ? translateGroup(source, top) : [],
    nodes: new Map(nodeGroups.map((g) => [String(g.base[1]), translateGroup(source, g)])),
  };
}

/** Reads a config file; a file that can't be read is reported like any other config problem. */
export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a directory, not a config file" : err.message;
    throw new ConfigError([{ location: { file: path }, message: `cannot read config file: ${reason}` }]);
  }
  return parseConfig(text, path);
}

function translateGroup(source: ConfigSource, group: Group): ConfigResource[] {
  const out: ConfigResource[] = [];
  const config = group.value as GroupConfig;
  (config.clusters ?? []).forEach((c, i) => {
    const location = source.locate([...group.base, "clusters", i]);
    const { cluster, endpoints } = translateCluster(c);
    out.push({ typeUrl: TypeUrl.Cluster, name: c.name, message: cluster, location });
    out.push({ typeUrl: TypeUrl.ClusterLoadAssignment, name: c.name, message: endpoints, location });
  });
  (config.listeners ?? []).forEach((l, i) => {
    const location = source.locate([...group.base, "listeners", i]);
    const { listener, routes } = translateListener(l);
    out.push({ typeUrl: TypeUrl.Listener, name: listener.name, message: listener, location });
    out.push({ typeUrl: TypeUrl.RouteConfiguration, name: routes.name, message: routes, location });
  });
  for (const r of group.raw) out.push({ typeUrl: r.typeUrl, name: r.name, message: r.message, location: source.locate(r.path) });
  return out;
}

function sortByPosition(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.location.line ?? 0) - (b.issue.location.line ?? 0) || (a.issue.location.column ?? 0) - (b.issue.location.column ?? 0) || a.i - b.i)
    .map(({ issue }) => issue);
}
