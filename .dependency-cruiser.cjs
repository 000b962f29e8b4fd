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
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^src/gen/" },
    doNotFollow: { path: "node_modules" },
  },
};
