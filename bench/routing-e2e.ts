// In-process lab vs --e2e on a subset: for each (policy, replicas) row, the in-process run with piggy-backed
// load (what the e2e routers see) and then two e2e runs, back to back. Writes bench/results/routing-e2e.jsonl
// (one line per run) and prints README.md's table.
//
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/routing-e2e.ts \
//     [--trace ../shared/traces/mooncake-conversation.jsonl] [--limit 1000] [--speedup 10] \
//     [--rows prefix-affinity:1,prefix-affinity:4,round-robin:1,cache-aware:1]
import { readFileSync, writeFileSync } from 'node:fs';
import { affinityConfigSchema } from '../src/config/affinity.ts';
import { replayE2e } from '../src/routing/lab/e2e.ts';
import { prepareTrace } from '../src/routing/lab/prepare.ts';
import { runLab } from '../src/routing/lab/run.ts';
import { parseTrace } from '../src/routing/lab/trace.ts';
import { parseFlags } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), {
  trace: { type: 'string', default: '../shared/traces/mooncake-conversation.jsonl' },
  limit: { type: 'string', default: '1000' },
  speedup: { type: 'string', default: '10' },
  rows: { type: 'string', default: 'prefix-affinity:1,prefix-affinity:4,round-robin:1,cache-aware:1' },
  out: { type: 'string', default: 'bench/results/routing-e2e.jsonl' },
});
const { blockChars, maxBlocks } = affinityConfigSchema.parse({});
const records = parseTrace(readFileSync(f.trace!, 'utf8'), Number(f.limit));
const trace = prepareTrace(records, { hash: { blockChars, maxBlocks } });
const base = { backends: 8, capacityTokens: 500_000 };
const lines: string[] = [];
const table: string[] = [];
for (const row of f.rows!.split(',')) {
  const [policy, r] = row.split(':') as [string, string];
  const replicas = Number(r);
  const inproc = runLab(trace, { ...base, policy, replicas, loadSignal: 'piggyback' });
  const e2e = [];
  for (let run = 0; run < 2; run++) e2e.push(await replayE2e(records, { ...base, policy, replicas, speedup: Number(f.speedup), blockChars, maxBlocks }));
  for (const [mode, x] of [['in-process', inproc], ['e2e 1', e2e[0]], ['e2e 2', e2e[1]]] as const) lines.push(JSON.stringify({ row, mode, ...x }));
  writeFileSync(f.out!, `${lines.join('\n')}\n`);
  const diff = (x: number) => `${x >= inproc.hitRate ? '+' : ''}${Math.round((x / inproc.hitRate - 1) * 100)}%`;
  const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
  table.push(
    `| ${policy} | ${replicas} | ${(inproc.hitRate * 100).toFixed(2)}% / ${e2e.map((x) => `${(x.hitRate * 100).toFixed(2)}%`).join(', ')} (${e2e.map((x) => diff(x.hitRate)).join(', ')}) | ${s(inproc.ttftP50Ms)} / ${e2e.map((x) => s(x.ttftP50Ms)).join(', ')} | ${s(inproc.ttftP99Ms)} / ${e2e.map((x) => s(x.ttftP99Ms)).join(', ')} | ${e2e.map((x) => x.failed).join(', ')} |`,
  );
  console.error(`${row} done`);
}
console.log('| policy | replicas | hitRate in-process / e2e run 1, run 2 | TTFT p50 in-process / e2e 1, 2 | TTFT p99 in-process / e2e 1, 2 | e2e failed requests |');
console.log('|---|---|---|---|---|---|');
for (const t of table) console.log(t);
