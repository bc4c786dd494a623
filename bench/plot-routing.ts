// Draws the routing lab's chart from bench/results/routing-lab.json: for each workload, hit rate and p99 TTFT
// against router replicas, one line per policy (500k tokens per backend), the pooled bound as a dashed line.
//   npx tsx bench/plot-routing.ts [--in bench/results/routing-lab.json] [--out bench/results/routing-lab.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import type { LabResult } from './routing-lab/run.ts';
import { parseFlags } from '../src/util/args.ts';
import { policyColorScale, policyLabel } from './chart-style.ts';
import { renderSvg } from './chart-svg.ts';

type Row = LabResult & { workload: string };

const f = parseFlags(process.argv.slice(2), {
  in: { type: 'string', default: 'bench/results/routing-lab.json' },
  out: { type: 'string', default: 'bench/results/routing-lab.svg' },
});
const { results } = JSON.parse(readFileSync(f.in, 'utf8')) as { results: Row[] };
const capacity = 500_000;
const rows = results.filter((r) => r.capacityTokens === capacity);
const workloads = [...new Set(rows.map((r) => r.workload))];
const policies = [...new Set(rows.map((r) => r.policy))];
const replicas = [...new Set(rows.map((r) => r.replicas))].sort((a, b) => a - b);

const points = rows.map((r) => ({
  workload: r.workload,
  policy: policyLabel(r.policy),
  isDefault: r.policy === 'prefix-affinity',
  replicas: r.replicas,
  hitRate: r.hitRate,
  ttftP99S: r.ttftP99Ms / 1000,
}));
const color = { field: 'policy', type: 'nominal', title: 'policy', scale: policyColorScale(policies), legend: { orient: 'bottom', columns: 4, labelLimit: 300 } } as const;
const x = { field: 'replicas', type: 'ordinal', sort: replicas, title: 'router replicas', axis: { labelAngle: 0 } } as const;
const lines = (workload: string, field: string, format: string) => ({
  data: { values: points.filter((p) => p.workload === workload) },
  mark: { type: 'line', point: { size: 40 } },
  encoding: {
    x,
    y: { field, type: 'quantitative', title: null, axis: { format } },
    color,
    strokeWidth: { condition: { test: 'datum.isDefault', value: 3.5 }, value: 1.5 },
  },
});

const panel = (workload: string, title: string, layers: object[]) => ({
  width: 420,
  height: 260,
  title: `${workload}: ${title}`,
  layer: layers,
});
const bound = (workload: string) => {
  const pooled = rows.find((r) => r.workload === workload)!.pooledHitRate;
  return [
    { data: { values: [{ pooled, label: 'pooled bound' }] }, mark: { type: 'rule', strokeDash: [6, 4], color: '#1e1e1e' }, encoding: { y: { field: 'pooled', type: 'quantitative' } } },
    { data: { values: [{ pooled, label: 'pooled bound' }] }, mark: { type: 'text', align: 'right', dy: -8, x: 'width' }, encoding: { y: { field: 'pooled', type: 'quantitative' }, text: { field: 'label' } } },
  ];
};

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: `kvroute routing lab: 8 backends x ${capacity / 1000}k tokens, router replicas share nothing`, anchor: 'start', offset: 16 },
  config: { font: 'sans-serif', view: { stroke: null } },
  vconcat: [
    { hconcat: workloads.map((w) => panel(w, 'hit rate', [lines(w, 'hitRate', '.0%'), ...bound(w)])) },
    { hconcat: workloads.map((w) => panel(w, 'TTFT p99 (s)', [lines(w, 'ttftP99S', '.1f')])) },
  ],
  resolve: { scale: { y: 'independent' } },
} as unknown as TopLevelSpec;

writeFileSync(f.out, await renderSvg(spec));
console.error(`wrote ${f.out}`);
