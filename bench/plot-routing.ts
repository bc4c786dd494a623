// Draws the routing lab's chart from bench/results/routing-lab.json: for each workload, hit rate and p99 TTFT
// against router replicas, one line per policy (500k tokens per backend), the pooled bound as a dashed line.
//   npx tsx bench/plot-routing.ts [--in bench/results/routing-lab.json] [--out bench/results/routing-lab.png]
import { readFileSync, writeFileSync } from 'node:fs';
import type { LabResult } from './routing-lab/run.ts';
import { parseFlags } from '../src/util/args.ts';
import { GRID, INK, POLICY_COLORS } from './chart-style.ts';
import { Canvas } from './png.ts';

type Row = LabResult & { workload: string };

const f = parseFlags(process.argv.slice(2), {
  in: { type: 'string', default: 'bench/results/routing-lab.json' },
  out: { type: 'string', default: 'bench/results/routing-lab.png' },
});
const { results } = JSON.parse(readFileSync(f.in, 'utf8')) as { results: Row[] };
const capacity = 500_000;
const rows = results.filter((r) => r.capacityTokens === capacity);
const workloads = [...new Set(rows.map((r) => r.workload))];
const policies = [...new Set(rows.map((r) => r.policy))];
const replicas = [...new Set(rows.map((r) => r.replicas))].sort((a, b) => a - b);

const COLORS = POLICY_COLORS;

const panelW = 520;
const panelH = 330;
const margin = { left: 90, right: 20, top: 50, bottom: 60 };
const legendH = 70;
const canvas = new Canvas(workloads.length * (panelW + margin.left + margin.right), 2 * (panelH + margin.top + margin.bottom) + legendH + 40);
canvas.text(20, 12, 'KVROUTE ROUTING LAB: 8 BACKENDS X 500K TOKENS, ROUTER REPLICAS SHARE NOTHING', INK, 2);

function panel(col: number, row: number, title: string, metric: (r: Row) => number, fmt: (v: number) => string, bound?: (w: string) => number): void {
  const x0 = col * (panelW + margin.left + margin.right) + margin.left;
  const y0 = 40 + row * (panelH + margin.top + margin.bottom) + margin.top;
  const workload = workloads[col]!;
  const data = rows.filter((r) => r.workload === workload);
  let max = Math.max(...data.map(metric), bound ? bound(workload) : 0) * 1.1;
  if (!(max > 0)) max = 1;
  canvas.text(x0, y0 - 30, title, INK, 2);
  for (let k = 0; k <= 5; k++) {
    const y = y0 + panelH - (panelH * k) / 5;
    canvas.line(x0, y, x0 + panelW, y, GRID);
    const label = fmt((max * k) / 5);
    canvas.text(x0 - canvas.textWidth(label) - 8, y - 7, label, INK, 2);
  }
  canvas.line(x0, y0, x0, y0 + panelH, INK, 2);
  canvas.line(x0, y0 + panelH, x0 + panelW, y0 + panelH, INK, 2);
  const xOf = (i: number) => x0 + 30 + ((panelW - 60) * i) / Math.max(1, replicas.length - 1);
  const yOf = (v: number) => y0 + panelH - (panelH * v) / max;
  replicas.forEach((r, i) => {
    const label = String(r);
    canvas.text(xOf(i) - canvas.textWidth(label) / 2, y0 + panelH + 10, label, INK, 2);
  });
  canvas.text(x0 + panelW / 2 - canvas.textWidth('ROUTER REPLICAS') / 2, y0 + panelH + 34, 'ROUTER REPLICAS', INK, 2);
  if (bound) {
    const y = yOf(bound(workload));
    canvas.line(x0, y, x0 + panelW, y, INK, 2, 8);
    canvas.text(x0 + panelW - canvas.textWidth('POOLED BOUND') - 4, y - 20, 'POOLED BOUND', INK, 2);
  }
  for (const p of policies) {
    const pts = replicas.map((r, i) => {
      const row = data.find((d) => d.policy === p && d.replicas === r);
      return row ? { x: xOf(i), y: yOf(metric(row)) } : undefined;
    });
    const color = COLORS[p] ?? INK;
    const width = p === 'prefix-affinity' ? 4 : 2;
    for (let i = 1; i < pts.length; i++) if (pts[i - 1] && pts[i]) canvas.line(pts[i - 1]!.x, pts[i - 1]!.y, pts[i]!.x, pts[i]!.y, color, width);
    for (const pt of pts) if (pt) canvas.rect(pt.x - 4, pt.y - 4, 9, 9, color);
  }
}

workloads.forEach((w, col) => {
  panel(col, 0, `${w.toUpperCase()}: HIT RATE`, (r) => r.hitRate, (v) => `${(v * 100).toFixed(0)}%`, (wl) => rows.find((r) => r.workload === wl)!.pooledHitRate);
  panel(col, 1, `${w.toUpperCase()}: TTFT P99`, (r) => r.ttftP99Ms / 1000, (v) => `${v.toFixed(v < 10 ? 1 : 0)}S`);
});

let lx = 20;
let ly = canvas.height - legendH;
for (const p of policies) {
  const color = COLORS[p] ?? INK;
  canvas.rect(lx, ly + 6, 28, p === 'prefix-affinity' ? 5 : 3, color);
  lx += 36 + canvas.text(lx + 36, ly, p === 'prefix-affinity' ? 'PREFIX-AFFINITY (DEFAULT)' : p.toUpperCase(), INK, 2) + 20;
  if (lx > canvas.width - 360) {
    lx = 20;
    ly += 26;
  }
}
writeFileSync(f.out, canvas.png());
console.error(`wrote ${f.out}`);
