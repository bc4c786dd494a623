// `npm start` / `kvroute start`: the router in the local Workers runtime (workerd through wrangler on 127.0.0.1:8787 with
// local KV, D1, Durable Objects and Queues), a simulated pool of 4 vLLM backends, and a demo tenant.
import { DEMO_HELP, demoOptions, printBanner, seedDemoTenant, startDemoPool } from './demo.ts';
import { spawnLocalWorker } from './local-worker.ts';
import { untilSignal } from '../../src/util/signals.ts';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(`usage: kvroute start ${DEMO_HELP}\n  --engine llama: real llama.cpp engines on the CPU instead of the simulator (docs/engine.md)\n  env: KVROUTE_DEMO_KEY, KVROUTE_ADMIN_TOKEN`);
    return 0;
  }
  const o = demoOptions(argv);
  const pool = await startDemoPool(o);
  const worker = spawnLocalWorker({ port: o.port, adminToken: o.adminToken });
  const baseUrl = worker.url;
  const stopAll = async () => {
    await worker.stop();
    await pool.close();
  };
  try {
    await seedDemoTenant(baseUrl, o, pool.urls, worker.alive);
  } catch (e) {
    await stopAll();
    throw e;
  }
  printBanner('local Workers runtime, workerd', baseUrl, o, pool.urls);
  await Promise.race([untilSignal(), new Promise((r) => worker.process.once('exit', r))]);
  await stopAll();
  return 0;
}
