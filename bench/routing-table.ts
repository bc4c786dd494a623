// Prints the routing lab tables (docs/routing.md) from bench/results/routing-lab.json: every policy x replicas on both
// workloads side by side, and the "done when" check of the default policy against the targets.
//   npx tsx bench/routing-table.ts [--in bench/results/routing-lab.json]
import { readFileSync } from 'node:fs';
import type { LabResult } from './routing-lab/run.ts';
import { parseFlags } from '../src/util/args.ts';

type Row = LabResult & { workload: string };

const f = parseFlags(process.argv.slice(2), { in: { type: 'string', default: 'bench/results/routing-lab.json' } });
const rows = (JSON.parse(readFileSync(f.in, 'utf8')) as { results: Row[] }).results;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pct2 = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const BASE = 500_000;
const find = (w: string, p: string, r: number, c = BASE) => rows.find((x) => x.workload === w && x.policy === p && x.replicas === r && x.capacityTokens === c);
const replicas = [...new Set(rows.map((r) => r.replicas))].sort((a, b) => a - b);
const policies = [...new Set(rows.map((r) => r.policy))].sort((a, b) => (a === 'prefix-affinity' ? -1 : b === 'prefix-affinity' ? 1 : 0));
const cell = (r: Row | undefined) => (r ? `${pct(r.hitRate)} (${Math.round(r.pooledShare * 100)}%) | ${ms(r.ttftP50Ms)} / ${ms(r.ttftP99Ms)} | ${r.imbalance.toFixed(2)}` : '- | - | -');

console.log('| policy | replicas | Mooncake hitRate (% of pooled) | TTFT p50 / p99 | imbalance | generated hitRate (% of pooled) | TTFT p50 / p99 | imbalance |');
console.log('|---|---|---|---|---|---|---|---|');
for (const p of policies) {
  for (const r of replicas) {
    const label = p === 'prefix-affinity' ? '**prefix-affinity** (default)' : p;
    console.log(`| ${label} | ${r} | ${cell(find('mooncake', p, r))} | ${cell(find('generated', p, r))} |`);
  }
}
const extra = [...new Set(rows.filter((r) => r.capacityTokens !== BASE).map((r) => r.capacityTokens))].sort((a, b) => a - b);
for (const c of extra) {
  for (const r of replicas) console.log(`| default @ ${c / 1000}k | ${r} | ${cell(find('mooncake', 'prefix-affinity', r, c))} | ${cell(find('generated', 'prefix-affinity', r, c))} |`);
}
const bounds = [...new Map(rows.map((r) => [`${r.workload} ${r.capacityTokens}`, r])).values()]
  .sort((a, b) => a.workload.localeCompare(b.workload) || a.capacityTokens - b.capacityTokens)
  .map((r) => `${r.workload} @${r.capacityTokens / 1000}k pooled ${pct(r.pooledHitRate)} (unlimited ${pct(r.boundHitRate)})`);
console.log(`\nBounds: ${bounds.join('; ')}.\n`);

// The targets, for the default at 500k.
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
console.log('| target | ' + ['mooncake', 'generated'].map((w) => `${w} R=${replicas.join(' / ')}`).join(' | ') + ' |');
console.log('|---|---|---|');
const line = (label: string, check: (w: string, r: number) => string) =>
  console.log(`| ${label} | ${['mooncake', 'generated'].map((w) => replicas.map((r) => check(w, r)).join(' / ')).join(' | ')} |`);
line('hitRate >= 90% of pooled', (w, r) => {
  const d = find(w, 'prefix-affinity', r);
  return d ? `${Math.round(d.pooledShare * 100)}% ${yes(d.pooledShare >= 0.9)}` : '-';
});
line('hitRate >= cache-aware at R=1', (w, r) => {
  const d = find(w, 'prefix-affinity', r);
  const c = find(w, 'cache-aware', 1);
  // Two decimals: the two differ by less than the one-decimal rounding.
  return d && c ? `${pct2(d.hitRate)} vs ${pct2(c.hitRate)} ${yes(d.hitRate >= c.hitRate)}` : '-';
});
line('TTFT p99 <= better of round-robin, least-loaded', (w, r) => {
  const d = find(w, 'prefix-affinity', r);
  const best = Math.min(find(w, 'round-robin', r)?.ttftP99Ms ?? Infinity, find(w, 'least-loaded', r)?.ttftP99Ms ?? Infinity);
  return d ? `${ms(d.ttftP99Ms)} vs ${ms(best)} ${yes(d.ttftP99Ms <= best)}` : '-';
});
line('imbalance <= 1.3', (w, r) => {
  const d = find(w, 'prefix-affinity', r);
  return d ? `${d.imbalance.toFixed(2)} ${yes(d.imbalance <= 1.3)}` : '-';
});
