// Import boundaries (`npm run deps`): dependencies point one way, routes/ -> src/ -> shared types, and no folder
// or file takes part in a cycle. docs/architecture.md ("Code layout") describes the layout these rules keep.
// Edges that break a rule today and wait for a later move are listed in .dependency-cruiser-known-violations.json
// (regenerate with `npm run deps:baseline`); that file is meant to shrink to empty, so never add to it by hand.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'Folders depend on each other one way: move the shared type or helper to where its concept lives.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'Modules depend on each other one way.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-is-a-library',
      severity: 'error',
      comment:
        'src/ is a library: it never imports the HTTP surface (routes/), the entry points (bin/), benchmarks or tests. ' +
        'What must join a runtime with the app lives in routes/ (the Worker and Node entries) or bin/ (the CLI).',
      from: { path: '^src/' },
      to: { path: '^(routes|bin|bench|test)/' },
    },
    {
      name: 'bin-uses-only-the-lab-of-bench',
      severity: 'error',
      comment: 'The CLI takes nothing from the benchmarks but the routing lab, which `kvroute replay` runs.',
      from: { path: '^bin/' },
      to: { path: '^bench/', pathNot: '^bench/routing-lab/' },
    },
    {
      name: 'adapters-depend-on-shared-types-only',
      severity: 'error',
      comment: 'Engine adapters (gpu-backends/adapters/) know nothing of the router but the shared types in src/types/.',
      from: { path: '^gpu-backends/adapters/' },
      to: { path: '^src/', pathNot: '^src/types/' },
    },
    {
      name: 'routes-not-to-bench-or-test',
      severity: 'error',
      comment: 'The HTTP surface ships; benchmarks and tests do not.',
      from: { path: '^routes/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing (a file moved without updating its importers).',
      from: {},
      to: { couldNotResolve: true, pathNot: '^(cloudflare:|node:)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|tmp|\\.wrangler|\\.venv)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.cjs', '.d.ts'],
    },
    builtInModules: { add: ['cloudflare:workers', 'cloudflare:test', 'cloudflare:sockets'] },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
