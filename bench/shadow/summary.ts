// Statistics for bench/shadow (pure, no I/O): per-block percentiles, the on-vs-off difference, and the noise it
// is judged against. Noise is measured, not assumed: every run has two "off" blocks, so |off1 - off2| is what
// the same configuration differs from itself by on this machine at that moment (an A/A comparison).
import { median, percentile } from '../overhead/stats.ts';
import type { Sample } from './load.ts';

export type Condition = 'off' | 'on';

export const METRICS = ['ttfb_p50', 'ttfb_p99', 'total_p50', 'total_p99'] as const;
export type Metric = (typeof METRICS)[number];

export const METRIC_LABEL: Record<Metric, string> = {
  ttfb_p50: 'TTFB p50 (streaming)',
  ttfb_p99: 'TTFB p99 (streaming)',
  total_p50: 'total p50 (all)',
  total_p99: 'total p99 (all)',
};

export interface Block {
  run: number;
  index: number;
  condition: Condition;
  requests: number;
  errors: number;
  late: number;
  metrics: Record<Metric, number>;
  /** CPU ms per completed request, per process we started (router, sim-primary, sim-shadow). */
  cpuMsPerRequest: Record<string, number>;
}

/** TTFB over streaming requests (first SSE bytes); total over all requests (streaming and JSON). */
export function metricsOf(samples: readonly Sample[]): Record<Metric, number> {
  const ttfb = samples.filter((s) => s.stream).map((s) => s.ttfbMs);
  const total = samples.map((s) => s.totalMs);
  return { ttfb_p50: percentile(ttfb, 50), ttfb_p99: percentile(ttfb, 99), total_p50: percentile(total, 50), total_p99: percentile(total, 99) };
}

export interface MetricSummary {
  metric: Metric;
  /** Percentile over every sample of the condition, all runs pooled. */
  off: number;
  on: number;
  delta: number;
  /** Per run: mean of its on blocks minus mean of its off blocks. */
  runDeltas: number[];
  /** Per run: |off block 1 - off block 2| (A/A). */
  aaOff: number[];
  /** Per run: |on block 1 - on block 2| (A/A with shadow on), for reference. */
  aaOn: number[];
  offRange: [number, number];
  onRange: [number, number];
  /** |pooled delta| <= the largest off-vs-off difference seen, and the median per-run delta too. */
  withinNoise: boolean;
  /** Every run moved the same way and the median per-run delta exceeds the median off-vs-off difference: a
   *  small but real effect, even when it stays inside the largest (outlier-driven) A/A difference. */
  systematic: boolean;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function summarize(blocks: readonly Block[], pooled: Record<Condition, Record<Metric, number>>): MetricSummary[] {
  const runs = [...new Set(blocks.map((b) => b.run))];
  return METRICS.map((metric) => {
    const of = (run: number, c: Condition) => blocks.filter((b) => b.run === run && b.condition === c).map((b) => b.metrics[metric]);
    const runDeltas = runs.map((r) => mean(of(r, 'on')) - mean(of(r, 'off')));
    const aa = (c: Condition) => runs.map((r) => of(r, c)).filter((v) => v.length >= 2).map((v) => Math.abs(v[0]! - v[1]!));
    const all = (c: Condition) => blocks.filter((b) => b.condition === c).map((b) => b.metrics[metric]);
    const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
    const aaOff = aa('off');
    const delta = pooled.on[metric] - pooled.off[metric];
    const noise = Math.max(...aaOff);
    return {
      metric,
      off: pooled.off[metric],
      on: pooled.on[metric],
      delta,
      runDeltas,
      aaOff,
      aaOn: aa('on'),
      offRange: range(all('off')),
      onRange: range(all('on')),
      withinNoise: Math.abs(delta) <= noise && Math.abs(median(runDeltas)) <= noise,
      systematic: runs.length >= 3 && (runDeltas.every((d) => d > 0) || runDeltas.every((d) => d < 0)) && Math.abs(median(runDeltas)) > median(aaOff),
    };
  });
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const signed = (x: number) => (x >= 0 ? '+' : '') + f(x);

export function markdownTable(rows: readonly MetricSummary[]): string {
  const lines = [
    '| metric (ms) | shadow off | shadow on (100 %) | on − off | per-run on − off (min … max) | noise: off vs off per run (median / max) | off blocks (min … max) | within noise? | same sign in every run, above median noise? |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${METRIC_LABEL[r.metric]} | ${f(r.off)} | ${f(r.on)} | ${signed(r.delta)} | ${signed(Math.min(...r.runDeltas))} … ${signed(Math.max(...r.runDeltas))} | ${f(median(r.aaOff))} / ${f(Math.max(...r.aaOff))} | ${f(r.offRange[0])} … ${f(r.offRange[1])} | ${r.withinNoise ? 'yes' : '**no**'} | ${r.systematic ? `**yes** (median ${signed(median(r.runDeltas))})` : 'no'} |`,
    );
  }
  return lines.join('\n');
}

/** Mean CPU ms per request of each process, per condition. */
export function cpuTable(blocks: readonly Block[]): string {
  const names = [...new Set(blocks.flatMap((b) => Object.keys(b.cpuMsPerRequest)))];
  const avg = (c: Condition, n: string) => mean(blocks.filter((b) => b.condition === c).map((b) => b.cpuMsPerRequest[n] ?? 0));
  return [
    `| CPU ms per request | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...(['off', 'on'] as const).map((c) => `| shadow ${c} | ${names.map((n) => f(avg(c, n))).join(' | ')} |`),
  ].join('\n');
}
