// The routing lab on llama.cpp-like engines: the agentic multi-tenant workload (scripts/gen-agentic-workload.ts)
// for several seeds, 4 backends of the llama-cpp-32m-cpu profile (4 slots each, one cached prompt per slot), every
// policy at 1 and 16 router replicas. Writes every result to bench/results/routing-lab-llamacpp.json and prints
// the table and the targets (the default against round-robin and least-loaded).
//
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/routing-lab-agentic.ts \
//     [--seeds 1,2,3] [--policies prefix-affinity,round-robin,least-loaded,cache-aware] [--replicas 1,16] \
//     [--options '{"alone":"auto"}'] [--receipts-off] [--profile llama-cpp-32m-cpu] [--out FILE]
import { writeFileSync } from 'node:fs';
import { engineConfig } from '../gpu-backends/simulator/profiles.ts';
import { AGENTIC_DEFAULTS, generateAgenticWorkload } from '../scripts/gen-agentic-workload.ts';
import { affinityConfigSchema, type PolicyOptions } from '../src/config/affinity.ts';
import { prepareTrace } from './routing-lab/prepare.ts';
import { progressBar } from './routing-lab/progress.ts';
import { runLab, type LabResult } from './routing-lab/run.ts';
import { num, parseFlags } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), {
  seeds: { type: 'string', default: '1,2,3' },
  policies: { type: 'string', default: 'prefix-affinity,round-robin,least-loaded,cache-aware' },
  replicas: { type: 'string', default: '1,16' },
  backends: { type: 'string' },
  requests: { type: 'string' },
  profile: { type: 'string', default: 'llama-cpp-32m-cpu' },
  options: { type: 'string', default: '{}' },
  'receipts-off': { type: 'boolean' },
  out: { type: 'string', default: 'bench/results/routing-lab-llamacpp.json' },
});
const backends = num('backends', f.backends, 4);
const config = engineConfig(f.profile);
const policyOptions = JSON.parse(f.options) as PolicyOptions;
const hash = affinityConfigSchema.parse({});
const receipts = !f['receipts-off'];

export type AgenticRow = LabResult & { workload: string; seed: number; options: PolicyOptions; receipts: boolean };
const results: AgenticRow[] = [];
for (const seed of f.seeds.split(',').map(Number)) {
  const records = generateAgenticWorkload({ ...AGENTIC_DEFAULTS, seed, requests: num('requests', f.requests, AGENTIC_DEFAULTS.requests) });
  const trace = prepareTrace(records, { hash: { blockChars: hash.blockChars, maxBlocks: hash.maxBlocks } });
  for (const policy of f.policies.split(',')) {
    for (const replicas of f.replicas.split(',').map(Number)) {
      const res = runLab(trace, {
        policy,
        replicas,
        backends,
        capacityTokens: config.capacityTokens,
        profile: f.profile,
        policyOptions,
        receipts,
        onProgress: progressBar(`agentic-s${seed} ${policy} x${replicas}`),
      });
      results.push({ workload: `agentic-s${seed}`, seed, options: policyOptions, receipts, ...res });
      writeFileSync(f.out, `${JSON.stringify({ command: `npx tsx bench/routing-lab-agentic.ts ${process.argv.slice(2).join(' ')}`.trim(), profile: f.profile, backends, results }, null, 1)}\n`);
    }
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
console.log('| seed | policy | replicas | prompt tokens processed | hit rate | TTFT p50 / p90 / p99 | busiest share | deferred | receipts vs engine hit rate (max gap) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const gap = Math.max(...r.perBackendHitRate.map((h) => Math.abs(h.receipts - h.engine)));
  console.log(
    `| ${r.seed} | ${r.policy} | ${r.replicas} | ${r.processedPromptTokens.toLocaleString('en')} | ${pct(r.hitRate)} | ${ms(r.ttftP50Ms)} / ${ms(r.ttftP90Ms)} / ${ms(r.ttftP99Ms)} | ${r.busiestShare.toFixed(2)} | ${r.deferred} | ${(gap * 100).toFixed(2)} pt |`,
  );
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(`\nMedians over seeds ${[...new Set(results.map((r) => r.seed))].join(', ')}:`);
console.log('| policy | replicas | prompt tokens processed | hit rate | TTFT p50 / p90 / p99 | busiest share | receipts vs engine (max gap) |');
console.log('|---|---|---|---|---|---|---|');
for (const policy of [...new Set(results.map((r) => r.policy))]) {
  for (const replicas of [...new Set(results.map((r) => r.replicas))]) {
    const rs = results.filter((r) => r.policy === policy && r.replicas === replicas);
    const m = (f: (r: AgenticRow) => number) => median(rs.map(f));
    const gap = Math.max(...rs.flatMap((r) => r.perBackendHitRate.map((h) => Math.abs(h.receipts - h.engine))));
    console.log(
      `| ${policy} | ${replicas} | ${Math.round(m((r) => r.processedPromptTokens)).toLocaleString('en')} | ${pct(m((r) => r.hitRate))} | ${ms(m((r) => r.ttftP50Ms))} / ${ms(m((r) => r.ttftP90Ms))} / ${ms(m((r) => r.ttftP99Ms))} | ${m((r) => r.busiestShare).toFixed(2)} | ${(gap * 100).toFixed(2)} pt |`,
    );
  }
}
const find = (seed: number, p: string, r: number) => results.find((x) => x.seed === seed && x.policy === p && x.replicas === r);
console.log('\n| seed | replicas | prompt tokens vs round-robin | TTFT p50 vs RR, LL | TTFT p99 vs RR, LL | busiest share | all targets |');
console.log('|---|---|---|---|---|---|---|');
for (const seed of [...new Set(results.map((r) => r.seed))]) {
  for (const replicas of [...new Set(results.map((r) => r.replicas))]) {
    const d = find(seed, 'prefix-affinity', replicas);
    const rr = find(seed, 'round-robin', replicas);
    const ll = find(seed, 'least-loaded', replicas);
    if (!d || !rr || !ll) continue;
    const fewer = 1 - d.processedPromptTokens / rr.processedPromptTokens;
    const p50 = d.ttftP50Ms <= rr.ttftP50Ms && d.ttftP50Ms <= ll.ttftP50Ms;
    const p99 = d.ttftP99Ms <= rr.ttftP99Ms && d.ttftP99Ms <= ll.ttftP99Ms;
    const ok = fewer >= 0.3 && p50 && p99 && d.busiestShare <= 1.3;
    console.log(
      `| ${seed} | ${replicas} | ${pct(fewer)} fewer | ${ms(d.ttftP50Ms)} vs ${ms(rr.ttftP50Ms)}, ${ms(ll.ttftP50Ms)} | ${ms(d.ttftP99Ms)} vs ${ms(rr.ttftP99Ms)}, ${ms(ll.ttftP99Ms)} | ${d.busiestShare.toFixed(2)} | ${ok ? 'yes' : '**no**'} |`,
    );
  }
}
