// Draws the llama.cpp-profile lab's chart from bench/results/routing-lab-llamacpp.json (bench/routing-lab-agentic.ts):
// one column per router-replica count, one row per metric (prompt tokens the engines processed, TTFT p50, TTFT p99,
// busiest backend's share of requests over the mean), one bar per policy: the median over the seeds.
//   npx tsx bench/plot-agentic.ts [--in bench/results/routing-lab-llamacpp.json] [--out bench/results/routing-lab-llamacpp.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import type { LabResult } from './routing-lab/run.ts';
import { parseFlags } from '../src/util/args.ts';
import { policyColorScale, policyLabel } from './chart-style.ts';
import { renderSvg } from './chart-svg.ts';

type Row = LabResult & { seed: number };

const f = parseFlags(process.argv.slice(2), {
  in: { type: 'string', default: 'bench/results/routing-lab-llamacpp.json' },
  out: { type: 'string', default: 'bench/results/routing-lab-llamacpp.svg' },
});
const { results, backends } = JSON.parse(readFileSync(f.in, 'utf8')) as { results: Row[]; backends: number };
const policies = [...new Set(results.map((r) => r.policy))];
const replicas = [...new Set(results.map((r) => r.replicas))].sort((a, b) => a - b);
const seeds = [...new Set(results.map((r) => r.seed))];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const med = (policy: string, r: number, metric: (x: Row) => number) =>
  median(results.filter((x) => x.policy === policy && x.replicas === r).map(metric));

const METRICS: { title: string; of: (r: Row) => number; format: string }[] = [
  { title: 'prompt tokens processed', of: (r) => r.processedPromptTokens, format: '.3~s' },
  { title: 'TTFT p50 (s)', of: (r) => r.ttftP50Ms / 1000, format: '.2f' },
  { title: 'TTFT p99 (s)', of: (r) => r.ttftP99Ms / 1000, format: '.1f' },
  { title: 'busiest share / mean', of: (r) => r.busiestShare, format: '.2f' },
];

const color = { field: 'policy', type: 'nominal', title: 'policy', scale: policyColorScale(policies), legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 300 } } as const;
const x = { field: 'policy', type: 'nominal', sort: policies.map(policyLabel), axis: null } as const;
const panel = (m: (typeof METRICS)[number], r: number) => {
  const values = policies.map((p) => ({ policy: policyLabel(p), value: med(p, r, m.of) }));
  const y = { field: 'value', type: 'quantitative', title: null, axis: { format: m.format } } as const;
  return {
    width: 330,
    height: 170,
    title: `${m.title}, ${r} router${r > 1 ? 's' : ''}`,
    data: { values },
    layer: [
      { mark: 'bar', encoding: { x, y, color } },
      { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y, text: { field: 'value', type: 'quantitative', format: m.format } } },
    ],
  };
};

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: `kvroute routing lab, llama.cpp profile: ${backends} backends, agentic workload, median of ${seeds.length} seeds`, anchor: 'start', offset: 16 },
  config: { font: 'sans-serif', view: { stroke: null } },
  vconcat: METRICS.map((m) => ({ hconcat: replicas.map((r) => panel(m, r)), resolve: { scale: { y: 'shared' } } })),
} as unknown as TopLevelSpec;

writeFileSync(f.out, await renderSvg(spec));
console.error(`wrote ${f.out}`);
