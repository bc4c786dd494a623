// Import boundaries (`npm run deps`): dependencies point one way, routes/ -> src/ -> shared types, and no folder
// or file takes part in a cycle. docs/architecture.md ("Code layout") describes the layout these rules keep. There
// is no list of exceptions: when a rule fails, move the shared type or helper to where its concept lives.
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
      // no-folder-cycle counts a subfolder as part of its parent, so it does not see a folder and its own subfolder
      // importing each other; these two rules say which way such a pair points.
      name: 'no-subfolder-to-parent',
      severity: 'error',
      comment:
        'A folder builds on its subfolders (routing/ on policies/, experiments/ on shadow/), so a subfolder does not ' +
        'import its parent: move what both need into the subfolder. src/analytics/ is the other way round (next rule).',
      from: { path: '^(src/.+)/[^/]+/[^/]+$', pathNot: '^src/analytics/' },
      to: { path: '^$1/[^/]+$' },
    },
    {
      name: 'analytics-does-not-import-its-subfolders',
      severity: 'error',
      comment:
        'src/analytics/ holds the event schema and the sink interface that sinks/ and delivery/ implement; the ' +
        'runtimes wire them together (src/runtimes/node-analytics.ts, src/workers/worker-analytics.ts).',
      from: { path: '^src/analytics/[^/]+$' },
      to: { path: '^src/analytics/[^/]+/' },
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
