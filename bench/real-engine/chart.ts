// The real-engine bench's chart as SVG (Vega-Lite, rendered headless by Vega): per policy, the median TTFT
// p50/p90/p99, the prompt tokens the engines processed and the busiest backend over the mean, medians as bars and
// every run as a dot.
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../chart-svg.ts';
import type { PolicyMedians, Run } from './summary.ts';

export async function chartSvg(medians: readonly PolicyMedians[], runs: readonly Run[], defaultPolicy: string, title: string, subtitle: string): Promise<string> {
  const label = (p: string) => (p === defaultPolicy ? `${p} (default)` : p);
  const order = medians.map((m) => label(m.policy));
  const percentiles = ['p50', 'p90', 'p99'] as const;
  const key = { p50: 'ttftP50Ms', p90: 'ttftP90Ms', p99: 'ttftP99Ms' } as const;
  const ttftBars = medians.flatMap((m) => percentiles.map((p) => ({ policy: label(m.policy), percentile: p, ms: Math.round(m[key[p]]) })));
  const ttftRuns = runs.flatMap((r) => percentiles.map((p) => ({ policy: label(r.policy), percentile: p, ms: Math.round(r[key[p]]) })));
  const x = { field: 'policy', type: 'nominal', sort: order, title: null, axis: { labelAngle: -35, labelLimit: 240 } } as const;
  const width = 300;
  const height = 220;

  const panel = (field: string, title: string, bars: object[], dots: object[], limit?: number) => ({
    width,
    height,
    title,
    layer: [
      { data: { values: bars }, mark: { type: 'bar', color: '#4c78a8' }, encoding: { x, y: { field, type: 'quantitative', title: null } } },
      { data: { values: dots }, mark: { type: 'point', filled: true, size: 18, color: '#222', opacity: 0.7 }, encoding: { x, y: { field, type: 'quantitative' } } },
      ...(limit === undefined ? [] : [{ data: { values: [{ limit }] }, mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] }, encoding: { y: { field: 'limit', type: 'quantitative' } } }]),
    ],
  });

  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start' },
    config: { font: 'sans-serif', view: { stroke: null } },
    hconcat: [
      {
        width,
        height,
        title: 'TTFT p50 / p90 / p99 (ms, median of runs)',
        layer: [
          {
            data: { values: ttftBars },
            mark: 'bar',
            encoding: {
              x,
              xOffset: { field: 'percentile', sort: percentiles },
              y: { field: 'ms', type: 'quantitative', title: null },
              color: { field: 'percentile', type: 'nominal', sort: percentiles, scale: { scheme: 'tableau10' }, legend: { orient: 'top', title: null } },
            },
          },
          {
            data: { values: ttftRuns },
            mark: { type: 'point', filled: true, size: 12, color: '#222', opacity: 0.6 },
            encoding: { x, xOffset: { field: 'percentile', sort: percentiles }, y: { field: 'ms', type: 'quantitative' } },
          },
        ],
      },
      panel(
        'tokens',
        'Prompt tokens the engines processed',
        medians.map((m) => ({ policy: label(m.policy), tokens: m.processedPromptTokens })),
        runs.map((r) => ({ policy: label(r.policy), tokens: r.engineProcessedPromptTokens })),
      ),
      panel(
        'ratio',
        'Busiest backend / mean (limit 1.3)',
        medians.map((m) => ({ policy: label(m.policy), ratio: m.busiestOverMean })),
        runs.map((r) => ({ policy: label(r.policy), ratio: r.busiestShare })),
        1.3,
      ),
    ],
  } as TopLevelSpec;
  return renderSvg(spec);
}
