// Filter configs, issue 21 item 4: written inline in a listener's `http_filters` (`{name, config}`), or served over
// ECDS (`extension_configs:`, fetched by a listener's `{extension_config: NAME}`), where a change reaches a running
// Envoy without touching the listener. A config is an Envoy extension's typed_config, decoded as Envoy decodes its
// YAML (raw-resources.ts: proto3 JSON, "@type" resolved through every Envoy message, unknown fields refused), and
// every field that fails is reported where it is written.
import { create, fromJson, type JsonValue, type Registry } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import type { ConfigIssue } from "../errors.js";
import type { ConfigSource as EnvoyConfigSource } from "../gen/envoy/config/core/v3/config_source_pb.js";
import { TypedExtensionConfigSchema, type TypedExtensionConfig } from "../gen/envoy/config/core/v3/extension_pb.js";
import { HttpFilterSchema, type HttpFilter } from "../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { envoyRegistry } from "../resource/proto-registry.js";
import { TypeUrl, messageNameOf } from "../resource/type-urls.js";
import type { ExtensionConfigEntry, GroupConfig, HttpFilterConfig, TypedConfigJson } from "./model.js";
import { decodeFailures, failureIssues, type RawResource } from "./raw-resources.js";
import type { DocumentSource, Path } from "./source.js";
import { closest } from "./suggest.js";

/** A typed_config as written at `path`, decoded; or why not, at each field that fails. */
export function decodeTypedConfig(source: DocumentSource, json: unknown, path: Path): Any | ConfigIssue[] {
  const registry = envoyRegistry();
  const type = (json as Record<string, unknown>)["@type"];
  if (typeof type === "string" && !registry.getMessage(messageNameOf(type))) {
    return [{ location: source.locate([...path, "@type"]), message: unknownTypeMessage(type, registry) }];
  }
  try {
    return fromJson(AnySchema, json as JsonValue, { registry });
  } catch {
    return failureIssues(source, path, decodeFailures(AnySchema, json as JsonValue, registry));
  }
}

/** What is wrong with a config's "@type" that names no Envoy message, with the closest name when one is close. */
function unknownTypeMessage(typeUrl: string, registry: Registry): string {
  const name = messageNameOf(typeUrl);
  // Candidates from the same family (`envoy.extensions`…): a misspelling rarely changes the first two words.
  const family = `${name.split(".").slice(0, 2).join(".")}.`;
  const names: string[] = [];
  for (const desc of registry) if (desc.kind === "message" && desc.typeName.startsWith(family)) names.push(desc.typeName);
  const guess = closest(name, names);
  return `"${typeUrl}" names no Envoy message${guess ? ` (did you mean "type.googleapis.com/${guess}"?)` : ""}; a config's "@type" is the type URL of its message, as in Envoy's docs`;
}

function typedConfig(json: TypedConfigJson): Any {
  return fromJson(AnySchema, json as JsonValue, { registry: envoyRegistry() });
}

/** An `extension_configs` entry: the TypedExtensionConfig a listener's filter fetches by name. */
export function translateExtensionConfig(entry: ExtensionConfigEntry): TypedExtensionConfig {
  return create(TypedExtensionConfigSchema, { name: entry.name, typedConfig: typedConfig(entry.config) });
}

/** Name → type URL of the config of each extension config of a group, short-form or raw. */
export function extensionConfigTypes(group: GroupConfig, raw: readonly RawResource[]): Map<string, string> {
  const types = new Map<string, string>();
  for (const e of group.extension_configs ?? []) types.set(e.name, e.config["@type"]);
  for (const r of raw) {
    const config = r.typeUrl === TypeUrl.ExtensionConfig ? (r.message as TypedExtensionConfig).typedConfig : undefined;
    if (config && !types.has(r.name)) types.set(r.name, config.typeUrl);
  }
  return types;
}

/**
 * A listener's own HTTP filters, which go before the router. A filter with `extension_config` gets
 * `config_discovery`: Envoy subscribes to the TypedExtensionConfig named like the filter, over `source`, and takes
 * only a config of a type in `type_urls` (it rejects an ECDS update of another type) — the type of the group's
 * extension config of that name (`types`, from extensionConfigTypes).
 */
export function translateHttpFilters(filters: readonly HttpFilterConfig[], source: EnvoyConfigSource, types: ReadonlyMap<string, string>): HttpFilter[] {
  return filters.map((f) => {
    if (!("extension_config" in f)) return create(HttpFilterSchema, { name: f.name, configType: { case: "typedConfig", value: typedConfig(f.config) } });
    const type = types.get(f.extension_config);
    if (type === undefined) throw new Error(`unchecked http filter: no extension config "${f.extension_config}"`);
    return create(HttpFilterSchema, {
      name: f.extension_config,
      configType: { case: "configDiscovery", value: { configSource: source, typeUrls: [type] } },
    });
  });
}
