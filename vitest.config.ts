import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';

// Three projects: pure logic and Node-side code (unit), real processes over real sockets (e2e), and the real
// workerd runtime through vitest-pool-workers (workers).
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            main: './routes/worker.ts',
            wrangler: { configPath: './wrangler.toml' },
            // Tests run as local development: a development admin token and loopback simulators as backends.
            miniflare: { bindings: { KVROUTE_ADMIN_TOKEN: 'dev-admin-token', KVROUTE_LOCAL_DEV: '1' } },
          }),
        ],
        test: { name: 'workers', include: ['test/workers/**/*.test.ts'], globalSetup: ['test/workers/global-setup.ts'], testTimeout: 30_000 },
      },
    ],
  },
});
