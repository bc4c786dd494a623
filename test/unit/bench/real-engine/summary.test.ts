// The real-engine bench's verdicts: medians per policy over its runs and the default policy's targets, each able
// to fail on its own; and the chart renders to SVG.
import { describe, expect, it } from 'vitest';
import { chartSvg } from '../../../../bench/real-engine/chart.ts';
import { checkTargets, markdownTable, mediansByPolicy, type Run } from '../../../../bench/real-engine/summary.ts';

function run(policy: string, repeat: number, o: { p50: number; p99: number; processed: number; busiest: number; gap?: number }): Run {
  const receipts = 0.4;
  return {
    policy,
    repeat,
    seed: repeat + 1,
    position: 0,
    engineStartMs: 0,
    wallMs: 0,
    loadAverage: [0, 0, 0],
    failed: 0,
    ttftP50Ms: o.p50,
    ttftP90Ms: (o.p50 + o.p99) / 2,
    ttftP99Ms: o.p99,
    engineProcessedPromptTokens: o.processed,
    promptTokens: 200_000,
    hitRate: 1 - o.processed / 200_000,
    busiestRequestShare: o.busiest / 4,
    busiestShare: o.busiest,
    perBackendHitRate: [0, 1, 2, 3].map(() => ({ receipts, engine: receipts + (o.gap ?? 0) })),
  } as unknown as Run;
}

const rr = (k: number) => run('round-robin', k, { p50: 100 + k, p99: 1000, processed: 140_000, busiest: 1 });
const ll = (k: number) => run('least-loaded', k, { p50: 120, p99: 1100, processed: 150_000, busiest: 1.02 });

describe('real-engine bench summary', () => {
  it('takes medians over the runs of each policy and passes a default that beats both baselines', () => {
    const runs = [0, 1, 2].flatMap((k) => [rr(k), ll(k), run('prefix-affinity', k, { p50: 90, p99: k === 2 ? 5000 : 900, processed: 90_000, busiest: 1.2 })]);
    const m = mediansByPolicy(runs);
    expect(m.map((x) => x.policy)).toEqual(['round-robin', 'least-loaded', 'prefix-affinity']);
    expect(m[0]).toMatchObject({ runs: 3, ttftP50Ms: 101, processedPromptTokens: 140_000 });
    expect(m[2]!.ttftP99Ms).toBe(900); // one slow run does not make the median
    expect(checkTargets(m, 'prefix-affinity').map((t) => t.pass)).toEqual([true, true, true, true, true]);
    expect(markdownTable(m, 'prefix-affinity')).toContain('| prefix-affinity (default) | 90 / 495 / 900 | 90,000 | 55.0% | 30.0% (1.20x) | 0 |');
  });

  it('fails each target on its own', () => {
    const with_ = (o: Parameters<typeof run>[2]) => checkTargets(mediansByPolicy([0, 1, 2].flatMap((k) => [rr(k), ll(k), run('prefix-affinity', k, o)])), 'prefix-affinity').map((t) => t.pass);
    const good = { p50: 90, p99: 900, processed: 90_000, busiest: 1.2 };
    expect(with_({ ...good, processed: 100_000 })).toEqual([false, true, true, true, true]); // only 28.6% fewer
    expect(with_({ ...good, p50: 110 })).toEqual([true, false, true, true, true]); // above round-robin's 101
    expect(with_({ ...good, p99: 1050 })).toEqual([true, true, false, true, true]);
    expect(with_({ ...good, busiest: 1.35 })).toEqual([true, true, true, false, true]);
    expect(with_({ ...good, gap: 0.03 })).toEqual([true, true, true, true, false]);
  });

  it('fails when a baseline was not measured', () => {
    const t = checkTargets(mediansByPolicy([rr(0), run('prefix-affinity', 0, { p50: 1, p99: 1, processed: 1, busiest: 1 })]), 'prefix-affinity');
    expect(t).toHaveLength(1);
    expect(t[0]!.pass).toBe(false);
  });

  it('draws the chart as SVG', async () => {
    const runs = [rr(0), ll(0), run('prefix-affinity', 0, { p50: 90, p99: 900, processed: 90_000, busiest: 1.2 })];
    const svg = await chartSvg(mediansByPolicy(runs), runs, 'prefix-affinity', 'title', 'subtitle');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('prefix-affinity (default)');
  });
});
