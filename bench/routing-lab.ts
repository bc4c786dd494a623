// The routing lab's matrix: every policy x replica count on each workload (plus the default policy at other
// cache sizes), in one process so each trace is loaded and hashed once. Writes every result to
// bench/results/routing-lab.json and prints a markdown table for docs/routing.md.
//
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/routing-lab.ts \
//     [--workloads mooncake,generated] [--policies all] [--replicas 1,16,64] [--limit N] [--time-scale S] \
//     [--extra-capacities 250000,2000000] [--options '{"loadFactor":2}'] [--receipts-off] [--out bench/results/routing-lab.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { affinityConfigSchema, type PolicyOptions } from '../src/config/affinity.ts';
import { policyNames } from '../src/routing/policies/index.ts';
import { prepareTrace } from './routing-lab/prepare.ts';
import { progressBar } from './routing-lab/progress.ts';
import { runLab, type LabResult } from './routing-lab/run.ts';
import { parseTrace } from './routing-lab/trace.ts';
import { num, parseFlags } from '../src/util/args.ts';
import { WORKLOADS } from './routing-workloads.ts';

const f = parseFlags(process.argv.slice(2), {
  workloads: { type: 'string', default: 'mooncake,generated' },
  policies: { type: 'string', default: 'all' },
  replicas: { type: 'string', default: '1,16,64' },
  limit: { type: 'string' },
  'time-scale': { type: 'string' },
  'capacity-tokens': { type: 'string' },
  'extra-capacities': { type: 'string', default: '250000,2000000' },
  options: { type: 'string', default: '{}' },
  'receipts-off': { type: 'boolean' },
  out: { type: 'string', default: 'bench/results/routing-lab.json' },
});
const policies = f.policies === 'all' ? policyNames : f.policies.split(',');
const replicas = f.replicas.split(',').map(Number);
const capacity = num('capacity-tokens', f['capacity-tokens'], 500_000);
const extraCapacities = f['extra-capacities'] ? f['extra-capacities'].split(',').map(Number) : [];
const timeScale = num('time-scale', f['time-scale'], 1);
const policyOptions = JSON.parse(f.options) as PolicyOptions;
const hash = affinityConfigSchema.parse({});

const results: (LabResult & { workload: string })[] = [];
for (const workload of f.workloads.split(',')) {
  const t0 = performance.now();
  const records = parseTrace(readFileSync(WORKLOADS[workload] ?? workload, 'utf8'), num('limit', f.limit, Infinity));
  const trace = prepareTrace(records, { hash: { blockChars: hash.blockChars, maxBlocks: hash.maxBlocks } });
  console.error(`${workload}: ${records.length} requests prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const runs: { policy: string; replicas: number; capacityTokens: number }[] = [];
  for (const policy of policies) for (const r of replicas) runs.push({ policy, replicas: r, capacityTokens: capacity });
  if (policies.includes('prefix-affinity')) {
    for (const c of extraCapacities) for (const r of replicas) runs.push({ policy: 'prefix-affinity', replicas: r, capacityTokens: c });
  }
  for (const run of runs) {
    const res = runLab(trace, {
      ...run,
      policyOptions,
      receipts: !f['receipts-off'],
      backends: 8,
      timeScale,
      onProgress: progressBar(`${workload} ${run.policy} x${run.replicas} ${run.capacityTokens / 1000}k`),
    });
    results.push({ workload, ...res });
    writeFileSync(f.out, `${JSON.stringify({ command: `npx tsx bench/routing-lab.ts ${process.argv.slice(2).join(' ')}`.trim(), results }, null, 1)}\n`);
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
console.log('| workload | policy | replicas | KV/backend | hitRate | % of pooled | TTFT p50 | TTFT p99 | e2e p50 | imbalance |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.workload} | ${r.policy} | ${r.replicas} | ${r.capacityTokens / 1000}k | ${pct(r.hitRate)} | ${pct(r.pooledShare)} | ${ms(r.ttftP50Ms)} | ${ms(r.ttftP99Ms)} | ${ms(r.e2eP50Ms)} | ${r.imbalance.toFixed(2)} |`,
  );
}
console.log(`\nbounds: ${[...new Set(results.map((r) => `${r.workload} @${(r.capacityTokens * 8) / 1e6}M pooled ${pct(r.pooledHitRate)} (unlimited ${pct(r.boundHitRate)})`))].join('; ')}`);
