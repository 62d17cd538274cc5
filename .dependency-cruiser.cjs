// Import rules checked by `npm test`: no module of src/ or functions/ may reach itself through its imports; what the
// server imports at run time is in `dependencies`; the client imports nothing of the server.
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
    {
      name: 'server-runtime-dependencies',
      severity: 'error',
      comment: 'The server package is installed without devDependencies: what it imports at run time must be a dependency.',
      from: { path: '^src/', pathNot: '^src/client/' },
      to: { dependencyTypes: ['npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment: 'The client package ships src/client alone: it may import its own folder and its adapter libraries only.',
      from: { path: '^src/client/' },
      to: { dependencyTypes: ['local'], pathNot: '^src/client/' },
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
