// @ts-check
// Type-aware lint (typescript-eslint with the project service): catches promise misuse, `any` leaks and unsound
// assertions that `tsc` alone accepts. docs/lint.md says which rules are on and why.
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/**', 'tmp/**', '.wrangler/**', '.venv/**'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Files outside tsconfig's `include` (the .mjs entry points, the root configs) get a default project.
        projectService: { allowDefaultProject: ['*.js', '*.ts', 'bin/*.mjs', 'bench/soak/*/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // The faults this lint exists for: a promise nobody awaits or catches, a promise where a void callback is
      // expected, and `any` silently switching type checking off. (All three are in the recommended set; listed
      // so that they stay on whatever the preset does.)
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // From the strict set, the rules that find faults rather than style.
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      // Forwarding a reason we did not create (an AbortSignal's reason, a caught value) is allowed, as for throw.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `async` without `await` is how in-memory stores and fakes implement Promise-returning interfaces (a throw
      // becomes a rejection, as in the real implementation); the rule would only ask to rewrite them.
      '@typescript-eslint/require-await': 'off',
      // Injected callbacks (platform.defer, now, header, log) are declared with method shorthand in interfaces and
      // implemented as arrow functions; the rule cannot tell them from class methods and would ask for a rewrite
      // of every such interface, in files shared with other work.
      '@typescript-eslint/unbound-method': 'off',
      // A leading underscore marks a parameter that its position requires but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // An interface that only extends another is how a global interface is augmented (declaration merging needs an
      // interface): the tests' Cloudflare.Env in test/workers/env.d.ts.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
    },
  },
  {
    // Plain JavaScript (two soak scripts, the CLI shim, the import-boundary config): no types, so the
    // type-aware rules could only report that; the core JavaScript rules still apply. Globals of the runtimes they
    // run in (Node, workerd):
    files: ['**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: Object.fromEntries(
        ['URL', 'fetch', 'Request', 'Response', 'ReadableStream', 'AbortController', 'console', 'process', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // The dependency-cruiser config is CommonJS (the format that tool loads).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
);
