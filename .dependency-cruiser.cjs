// Import rules checked by `npm test`: no module of src/ or functions/ may reach itself through its imports.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle hides the order in which modules depend on each other.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Imports as they run: type-only imports vanish in compilation and cannot form a cycle at run time.
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: 'worker-configuration\\.d\\.ts$' },
  },
};
