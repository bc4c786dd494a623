// Where one policy loses hit rate against another, request by request: both run in-process on the same trace
// (RequestOutcome per request), and the cached-token difference is summed by the kind of request (a first
// request of its prefix, one that shares only a prefix, a next turn, a full repeat) and by the routing reason
// the second policy gave. Figures are percentage points of all prompt tokens.
//
//   npx tsx bench/routing-losses.ts [--workload generated] [--a cache-aware:1] [--b prefix-affinity:16] [--top 12]
//     [--options '{"minLoad":0}' (policy options of --b)] [--over-time (also the points lost per tenth of the trace,
//     and per hundredth within its first tenth: warm-up against steady state)]
import { readFileSync } from 'node:fs';
import { affinityConfigSchema, type PolicyOptions, policyOptionsSchema } from '../src/config/affinity.ts';
import { prepareTrace } from './routing-lab/prepare.ts';
import { simulate, type RequestOutcome } from './routing-lab/simulate.ts';
import { parseTrace } from './routing-lab/trace.ts';
import { parseFlags } from '../src/util/args.ts';
import { WORKLOADS } from './routing-workloads.ts';

const f = parseFlags(process.argv.slice(2), {
  workload: { type: 'string', default: 'generated' },
  a: { type: 'string', default: 'cache-aware:1' },
  b: { type: 'string', default: 'prefix-affinity:16' },
  top: { type: 'string', default: '12' },
  options: { type: 'string', default: '{}' },
  'over-time': { type: 'boolean', default: false },
});
const records = parseTrace(readFileSync(WORKLOADS[f.workload] ?? f.workload, 'utf8'), Infinity);
const hash = affinityConfigSchema.parse({});
const trace = prepareTrace(records, { hash: { blockChars: hash.blockChars, maxBlocks: hash.maxBlocks } });

// Kind of each request, from the trace ids alone: how many of its leading blocks any earlier request had.
const seen = new Set<number>();
const kind = records.map((r) => {
  let m = 0;
  while (m < r.hash_ids.length && seen.has(r.hash_ids[m]!)) m++;
  for (const h of r.hash_ids) seen.add(h);
  return m === 0 ? 'first' : m === r.hash_ids.length ? 'repeat' : m >= r.hash_ids.length - 3 ? 'next-turn' : 'shared-prefix';
});

function run(spec: string, policyOptions: PolicyOptions = {}): { outcomes: RequestOutcome[]; hitRate: number } {
  const [policy, replicas] = spec.split(':');
  const outcomes = new Array<RequestOutcome>(records.length);
  const r = simulate(trace, { policy: policy!, replicas: Number(replicas ?? 1), backends: 8, capacityTokens: 500_000, policyOptions, onFirstToken: (o) => (outcomes[o.index] = o) });
  return { outcomes, hitRate: r.hitRate };
}
const a = run(f.a);
const b = run(f.b, policyOptionsSchema.parse(JSON.parse(f.options)));
let total = 0;
for (const o of a.outcomes) total += o?.promptTokens ?? 0;
const lost = new Map<string, number>();
a.outcomes.forEach((oa, i) => {
  const ob = b.outcomes[i];
  const key = `${kind[i]} / ${(ob?.reason ?? 'rejected').replace(/:\d+$/, '')}`;
  lost.set(key, (lost.get(key) ?? 0) + (oa?.cachedTokens ?? 0) - (ob?.cachedTokens ?? 0));
});
console.log(`${f.workload}: ${f.a} hitRate ${(a.hitRate * 100).toFixed(2)}%, ${f.b} hitRate ${(b.hitRate * 100).toFixed(2)}%`);
console.log(`| request kind / reason (${f.b}) | points of hit rate ${f.b} loses against ${f.a} |`);
console.log('|---|---|');
for (const [k, v] of [...lost].sort((x, y) => y[1] - x[1]).slice(0, Number(f.top))) console.log(`| ${k} | ${((v / total) * 100).toFixed(2)} |`);

if (f['over-time']) {
  // Requests are in arrival order, so a slice of indices is a slice of time.
  const pointsLost = (from: number, to: number): string => {
    let d = 0;
    for (let i = from; i < to; i++) d += (a.outcomes[i]?.cachedTokens ?? 0) - (b.outcomes[i]?.cachedTokens ?? 0);
    return ((d / total) * 100).toFixed(3);
  };
  const n = records.length;
  const at = (k: number, parts: number, span: number) => Math.floor((k * span) / parts);
  console.log(`\npoints lost per tenth of the trace: ${Array.from({ length: 10 }, (_, k) => pointsLost(at(k, 10, n), at(k + 1, 10, n))).join(' ')}`);
  console.log(`per hundredth within the first tenth: ${Array.from({ length: 10 }, (_, k) => pointsLost(at(k, 100, n), at(k + 1, 100, n))).join(' ')}`);
}
