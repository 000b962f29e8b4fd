// The config module's public API: config text -> validated Envoy resources per node group, and Envoy bootstraps.
export { parseConfig, loadConfigFile, type ConfigResource, type LoadedConfig } from "./load.js";
export { bootstrapModes, renderBootstrap, xdsClusterName, type BootstrapMode, type BootstrapOptions } from "./bootstrap.js";
export { configJsonSchema } from "./schema.js";
