// The popularity board's answer between its Durable Object and an isolate inside workerd (Miniflare): Workers RPC
// with the typed arrays as they are (the form in use), RPC with the answer packed into one ArrayBuffer, and
// stub.fetch with the packed body (the transport before RPC). A new isolate gets the whole placement log
// (65,536 pairs), a busy one a couple of thousand pairs every sync. Time per answer, measured in Node around a
// request that asks `rounds` times in a row (workerd's own clock moves in whole milliseconds); the forms
// alternate, median of the repeats. The worker is bench/board-transport-worker.ts.
//
//   npx tsx bench/board-transport.ts [--repeats 7] [--pairs 65536,2048]
import { build } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { num, parseFlags } from '../src/util/args.ts';
import { median } from './overhead/stats.ts';

const f = parseFlags(process.argv.slice(2), { repeats: { type: 'string', default: '7' }, pairs: { type: 'string', default: '65536,2048' } });
const repeats = num('repeats', f.repeats, 7);
const FORMS = ['rpc', 'rpc-binary', 'fetch-binary'] as const;

const bundled = await build({
  entryPoints: [new URL('./board-transport-worker.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['module', 'main'],
  external: ['cloudflare:workers'],
  write: false,
});
const mf = new Miniflare({
  modules: [{ type: 'ESModule', path: 'worker.js', contents: bundled.outputFiles[0]!.text }],
  compatibilityDate: '2026-04-01',
  durableObjects: { BOARD: 'Board' },
  log: new Log(LogLevel.WARN),
});

try {
  console.log('| placement pairs | form | ms per answer (median) | min | max |');
  console.log('|---|---|---|---|---|');
  for (const pairs of f.pairs.split(',').map((p) => num('pairs', p, 65_536))) {
    const rounds = Math.max(20, Math.round(2_000_000 / pairs));
    const ms: Record<(typeof FORMS)[number], number[]> = { rpc: [], 'rpc-binary': [], 'fetch-binary': [] };
    for (let r = -1; r < repeats; r++) {
      // Rotate the order each repeat, so no form always runs first; repeat -1 warms up and is not counted.
      for (let i = 0; i < FORMS.length; i++) {
        const form = FORMS[(i + r + 1) % FORMS.length]!;
        const t0 = performance.now();
        const res = await mf.dispatchFetch(`http://bench/?form=${form}&pairs=${pairs}&rounds=${rounds}`);
        const body = (await res.json()) as { pairs: number };
        if (body.pairs !== pairs) throw new Error(`${form}: answer of ${body.pairs} pairs, expected ${pairs}`);
        if (r >= 0) ms[form].push((performance.now() - t0) / rounds);
      }
    }
    for (const form of FORMS) {
      console.log(`| ${pairs.toLocaleString('en-US')} | ${form} | ${median(ms[form]).toFixed(3)} | ${Math.min(...ms[form]).toFixed(3)} | ${Math.max(...ms[form]).toFixed(3)} |`);
    }
  }
  console.log(`(300 hot entries; ${repeats} repeats, each a request of consecutive answers; workerd through Miniflare)`);
} finally {
  await mf.dispose();
}
