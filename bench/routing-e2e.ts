// In-process lab vs --e2e on a subset: for each (policy, replicas) row, in-process runs with piggy-backed load
// (what the e2e routers see) over five replica-assignment seeds (on a subset the hit rate moves with which
// requests meet, so one in-process run is not "the" answer), then two e2e runs, back to back. Writes
// bench/results/routing-e2e.jsonl (one line per run) and prints the table in docs/routing.md.
//
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/routing-e2e.ts \
//     [--trace ../shared/traces/mooncake-conversation.jsonl] [--limit 2000] [--speedup 10] \
//     [--rows prefix-affinity:1,prefix-affinity:4,round-robin:1,cache-aware:1]
import { readFileSync, writeFileSync } from 'node:fs';
import { affinityConfigSchema } from '../src/config/affinity.ts';
import { replayE2e } from './routing-lab/e2e.ts';
import { prepareTrace } from './routing-lab/prepare.ts';
import { runLab } from './routing-lab/run.ts';
import { parseTrace } from './routing-lab/trace.ts';
import { parseFlags } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), {
  trace: { type: 'string', default: '../shared/traces/mooncake-conversation.jsonl' },
  limit: { type: 'string', default: '2000' },
  speedup: { type: 'string', default: '10' },
  rows: { type: 'string', default: 'prefix-affinity:1,prefix-affinity:4,round-robin:1,cache-aware:1' },
  out: { type: 'string', default: 'bench/results/routing-e2e.jsonl' },
});
const { blockChars, maxBlocks } = affinityConfigSchema.parse({});
const records = parseTrace(readFileSync(f.trace, 'utf8'), Number(f.limit));
const trace = prepareTrace(records, { hash: { blockChars, maxBlocks } });
const base = { backends: 8, capacityTokens: 500_000 };
const lines: string[] = [];
const table: string[] = [];
for (const row of f.rows.split(',')) {
  const [policy, r] = row.split(':') as [string, string];
  const replicas = Number(r);
  const seeds = [1, 2, 3, 4, 5].map((seed) => runLab(trace, { ...base, policy, replicas, seed, loadSignal: 'piggyback' }));
  const inproc = seeds[0]!;
  const hits = seeds.map((x) => x.hitRate);
  const meanHit = hits.reduce((a, b) => a + b, 0) / hits.length;
  const e2e = [];
  for (let run = 0; run < 2; run++) e2e.push(await replayE2e(records, { ...base, policy, replicas, speedup: Number(f.speedup), blockChars, maxBlocks }));
  seeds.forEach((x, k) => lines.push(JSON.stringify({ ...x, row, mode: `in-process seed ${k + 1}` })));
  for (const [mode, x] of [['e2e 1', e2e[0]], ['e2e 2', e2e[1]]] as const) lines.push(JSON.stringify({ ...x, row, mode }));
  writeFileSync(f.out, `${lines.join('\n')}\n`);
  const diff = (x: number) => `${x >= meanHit ? '+' : ''}${Math.round((x / meanHit - 1) * 100)}%`;
  const p = (x: number) => `${(x * 100).toFixed(2)}%`;
  const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
  table.push(
    `| ${policy} | ${replicas} | ${p(meanHit)} (${p(Math.min(...hits))}-${p(Math.max(...hits))}) | ${e2e.map((x) => `${p(x.hitRate)} (${diff(x.hitRate)})`).join(', ')} | ${s(inproc.ttftP50Ms)} / ${e2e.map((x) => s(x.ttftP50Ms)).join(', ')} | ${s(inproc.ttftP99Ms)} / ${e2e.map((x) => s(x.ttftP99Ms)).join(', ')} | ${e2e.map((x) => x.failed).join(', ')} |`,
  );
  console.error(`${row} done`);
}
console.log('| policy | replicas | hitRate in-process, mean of 5 seeds (range) | hitRate e2e run 1, run 2 (vs mean) | TTFT p50 in-process seed 1 / e2e 1, 2 | TTFT p99 in-process seed 1 / e2e 1, 2 | e2e failed requests |');
console.log('|---|---|---|---|---|---|---|');
for (const t of table) console.log(t);
