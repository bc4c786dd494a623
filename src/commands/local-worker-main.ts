// `kvroute local-worker --port P [--persist-to DIR] [--vars JSON]`: the Worker in the local Workers runtime
// (wrangler's programmatic dev server, devtools inspector off, no file watching), until SIGINT/SIGTERM.
// Started by spawnLocalWorker (local-worker.ts); not meant to be typed by hand.
import { unstable_startWorker } from 'wrangler';
import { fileURLToPath } from 'node:url';
import { num, parseFlags } from '../util/args.ts';
import { untilSignal } from '../util/signals.ts';

const CONFIG = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, { port: { type: 'string' }, 'persist-to': { type: 'string' }, vars: { type: 'string' } });
  const vars = JSON.parse(f.vars ?? '{}') as Record<string, string>;
  const bindings = Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: 'plain_text' as const, value }]));
  const worker = await unstable_startWorker({
    config: CONFIG,
    bindings,
    dev: {
      inspector: false,
      watch: false,
      server: { hostname: '127.0.0.1', port: num('port', f.port, 8787) },
      persist: f['persist-to'],
      logLevel: 'warn',
    },
  });
  await worker.ready;
  await untilSignal();
  await worker.dispose();
  return 0;
}
