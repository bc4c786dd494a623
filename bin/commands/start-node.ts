// `npm run start:node` / `kvroute start:node`: the same embedded default on the Node runtime.
import { startNodeRouter } from '../../routes/node.ts';
import { FileTenantStore } from '../../src/tenants/file-store.ts';
import { openNodeAnalytics } from './node-analytics-flags.ts';
import { DEMO_FLAGS, DEMO_HELP, demoOptionsOf, printBanner, seedDemoTenant, startDemoPool } from './demo.ts';
import { parseFlags } from '../../src/util/args.ts';
import { DRAIN_FLAG, DRAIN_HELP, drainMs, shutdownOnSignal } from '../../src/util/signals.ts';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(`usage: kvroute start:node ${DEMO_HELP} [--drain-ms 30000]\n  --engine llama: real llama.cpp engines on the CPU instead of the simulator (docs/engine.md)\n  env: KVROUTE_DEMO_KEY, KVROUTE_ADMIN_TOKEN\n  ${DRAIN_HELP}`);
    return 0;
  }
  const f = parseFlags(argv, { ...DEMO_FLAGS, ...DRAIN_FLAG });
  const o = demoOptionsOf(f);
  const graceMs = drainMs(f['drain-ms']);
  const pool = await startDemoPool(o);
  const analytics = await openNodeAnalytics('.kvroute');
  // Local development: the demo token and the loopback simulators are accepted (src/config/deployment.ts).
  const router = await startNodeRouter({ store: new FileTenantStore('.kvroute/node-state.json'), port: o.port, adminToken: o.adminToken, localDev: true, analytics });
  await seedDemoTenant(router.url, o, pool.urls);
  printBanner('Node runtime', router.url, o, pool.urls);
  await shutdownOnSignal(graceMs, async (cut) => {
    await router.close({ graceMs, cut });
    await analytics.close();
    await pool.close();
  });
  return 0;
}
