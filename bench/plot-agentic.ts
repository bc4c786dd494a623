// Draws the llama.cpp-profile lab's chart from bench/results/routing-lab-llamacpp.json (bench/routing-lab-agentic.ts):
// one column per router-replica count, one row per metric (prompt tokens the engines processed, TTFT p50, TTFT p99,
// busiest backend's share of requests over the mean), one bar per policy: the median over the seeds.
//   npx tsx bench/plot-agentic.ts [--in bench/results/routing-lab-llamacpp.json] [--out bench/results/routing-lab-llamacpp.png]
import { readFileSync, writeFileSync } from 'node:fs';
import type { LabResult } from './routing-lab/run.ts';
import { parseFlags } from '../src/util/args.ts';
import { GRID, INK, POLICY_COLORS } from './chart-style.ts';
import { Canvas } from './png.ts';

type Row = LabResult & { seed: number };

const f = parseFlags(process.argv.slice(2), {
  in: { type: 'string', default: 'bench/results/routing-lab-llamacpp.json' },
  out: { type: 'string', default: 'bench/results/routing-lab-llamacpp.png' },
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

const METRICS: { title: string; of: (r: Row) => number; fmt: (v: number) => string }[] = [
  { title: 'PROMPT TOKENS PROCESSED', of: (r) => r.processedPromptTokens, fmt: (v) => `${Math.round(v / 1000)}K` },
  { title: 'TTFT P50', of: (r) => r.ttftP50Ms / 1000, fmt: (v) => `${v.toFixed(2)}S` },
  { title: 'TTFT P99', of: (r) => r.ttftP99Ms / 1000, fmt: (v) => `${v.toFixed(1)}S` },
  { title: 'BUSIEST SHARE / MEAN', of: (r) => r.busiestShare, fmt: (v) => v.toFixed(2) },
];
const COLORS = POLICY_COLORS;

const panelW = 430;
const panelH = 200;
const margin = { left: 80, right: 30, top: 44, bottom: 24 };
const legendH = 50;
const canvas = new Canvas(replicas.length * (panelW + margin.left + margin.right), METRICS.length * (panelH + margin.top + margin.bottom) + legendH + 40);
canvas.text(20, 12, `KVROUTE ROUTING LAB, LLAMA.CPP PROFILE: ${backends} BACKENDS, AGENTIC WORKLOAD, MEDIAN OF ${seeds.length} SEEDS`, INK, 2);

METRICS.forEach((m, row) => {
  const max = Math.max(...policies.flatMap((p) => replicas.map((r) => med(p, r, m.of)))) * 1.15 || 1;
  replicas.forEach((r, col) => {
    const x0 = col * (panelW + margin.left + margin.right) + margin.left;
    const y0 = 40 + row * (panelH + margin.top + margin.bottom) + margin.top;
    canvas.text(x0, y0 - 28, `${m.title}, ${r} ROUTER${r > 1 ? 'S' : ''}`, INK, 2);
    for (let k = 0; k <= 4; k++) {
      const y = y0 + panelH - (panelH * k) / 4;
      canvas.line(x0, y, x0 + panelW, y, GRID);
      const label = m.fmt((max * k) / 4);
      canvas.text(x0 - canvas.textWidth(label) - 8, y - 7, label, INK, 2);
    }
    canvas.line(x0, y0, x0, y0 + panelH, INK, 2);
    canvas.line(x0, y0 + panelH, x0 + panelW, y0 + panelH, INK, 2);
    const slot = panelW / policies.length;
    policies.forEach((p, i) => {
      const v = med(p, r, m.of);
      const h = (panelH * v) / max;
      canvas.rect(x0 + i * slot + slot * 0.15, y0 + panelH - h, slot * 0.7, h, COLORS[p] ?? INK);
      const label = m.fmt(v);
      canvas.text(x0 + i * slot + slot / 2 - canvas.textWidth(label) / 2, y0 + panelH - h - 18, label, INK, 2);
    });
  });
});

let lx = 20;
const ly = canvas.height - legendH;
for (const p of policies) {
  canvas.rect(lx, ly + 4, 28, 12, COLORS[p] ?? INK);
  lx += 36 + canvas.text(lx + 36, ly, p === 'prefix-affinity' ? 'PREFIX-AFFINITY (DEFAULT)' : p.toUpperCase(), INK, 2) + 24;
}
writeFileSync(f.out, canvas.png());
console.error(`wrote ${f.out}`);
