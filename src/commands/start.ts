// `npm start` / `kvroute start`: the router in the local Workers runtime (wrangler dev on 127.0.0.1:8787 with
// local KV, D1, Durable Objects and Queues), a simulated pool of 4 vLLM backends, and a demo tenant.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { demoOptions, printBanner, seedDemoTenant, startDemoPool } from './demo.ts';
import { untilSignal } from '../util/signals.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log('usage: kvroute start [--port 8787] [--sim-base-port 9100] [--backends 4] [--time-scale 1]\n  env: KVROUTE_DEMO_KEY, KVROUTE_ADMIN_TOKEN');
    return 0;
  }
  const o = demoOptions(argv);
  const pool = await startDemoPool(o);
  const wrangler = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../node_modules/wrangler/bin/wrangler.js', import.meta.url)), 'dev', '--ip', '127.0.0.1', '--port', String(o.port),
      '--var', `KVROUTE_ADMIN_TOKEN:${o.adminToken}`, '--log-level', 'warn', '--show-interactive-dev-session=false'],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } },
  );
  const baseUrl = `http://127.0.0.1:${o.port}`;
  const stopAll = async () => {
    if (wrangler.exitCode === null) {
      wrangler.kill('SIGTERM');
      await new Promise((r) => wrangler.once('exit', r));
    }
    await pool.close();
  };
  try {
    await seedDemoTenant(baseUrl, o, pool.urls, () => wrangler.exitCode === null);
  } catch (e) {
    await stopAll();
    throw e;
  }
  printBanner('Workers runtime, wrangler dev', baseUrl, o, pool.urls);
  await Promise.race([untilSignal(), new Promise((r) => wrangler.once('exit', r))]);
  await stopAll();
  return 0;
}
