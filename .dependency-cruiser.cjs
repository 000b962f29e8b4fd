// The import rules of src/ (docs/architecture.md), checked by `npm run lint` (depcruise): no cycle — a cycle closed
// by a type-only import counts too — and each layer imports only the layers below it. Generated Envoy types
// (src/gen) and the root modules are open to every layer.
/** The root modules of src/: imported by every layer, importing none. */
const sharedModules = ["errors", "log", "grpc-status", "problem-details", "default-ports", "limit-flags"];
const rootModule = `^src/(${sharedModules.join("|")})\\.ts$`;
const shared = `^src/gen/|${rootModule}`;
/** Each layer, and the layers it may import besides itself and the shared modules. */
const layers = {
  resource: [],
  cache: ["resource"],
  store: [],
  config: ["resource", "cache"],
  bootstrap: ["config", "resource"],
  merge: ["config", "store", "resource", "cache"],
  server: ["resource", "cache"],
  daemon: ["merge", "config", "store", "server", "resource", "cache"],
  admin: ["daemon", "merge", "config", "store", "server", "resource", "cache"],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      severity: "error",
      comment: "Imports run one way (docs/architecture.md); a cycle closed by a type-only import counts too.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    ...Object.entries(layers).map(([layer, allowed]) => ({
      name: `layer-${layer}`,
      severity: "error",
      comment: `src/${layer}/ imports only ${allowed.length ? allowed.map((l) => `${l}/`).join(", ") : "nothing of another layer"} (and gen/, ${sharedModules.join(", ")})`,
      from: { path: `^src/${layer}/` },
      to: { path: "^src/", pathNot: [`^src/${layer}/`, shared, ...allowed.map((l) => `^src/${l}/`)] },
    })),
    {
      name: "shared-modules-import-no-layer",
      severity: "error",
      comment: `${sharedModules.join(", ")} are imported by every layer, so they import none (resource/type-urls and resource/redact excepted: plain functions that import nothing)`,
      from: { path: rootModule },
      to: { path: "^src/", pathNot: [shared, "^src/resource/type-urls\\.ts$", "^src/resource/redact\\.ts$"] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^src/gen/" },
    doNotFollow: { path: "node_modules" },
  },
};
