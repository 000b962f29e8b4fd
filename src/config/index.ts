// The config module's public API: config text -> validated Envoy resources per node group.
export { parseConfig, loadConfigFile, type ConfigResource, type LoadedConfig } from "./load.js";
export { configJsonSchema } from "./schema.js";
