// Calibration on seeded synthetic traffic (issue #6, item 7): no-drift windows rarely alarm; a doubled prompt
// length is major in the first full window; a changed temperature mix is flagged by the categorical PSI.
import { describe, expect, it } from 'vitest';
import { defaultDriftConfig } from '../../../src/config/drift.ts';
import { extractFeatures } from '../../../src/drift/features.ts';
import { evaluateFeature, evaluateSketches, type EvaluationSettings } from '../../../src/drift/report.ts';
import { FeatureSketches } from '../../../src/drift/sketches.ts';
import { BASE_SHAPE, trafficSource, type TrafficShape } from './traffic.ts';

const SETTINGS: EvaluationSettings = {
  bins: defaultDriftConfig.bins,
  minCount: defaultDriftConfig.minCount,
  alpha: defaultDriftConfig.alpha,
  smoothing: defaultDriftConfig.smoothing,
  categoryMinShare: defaultDriftConfig.categoryMinShare,
};

function sketchWindow(next: ReturnType<typeof trafficSource>, n: number): FeatureSketches {
  const s = new FeatureSketches();
  for (let i = 0; i < n; i++) {
    const r = next();
    s.record(extractFeatures(r.body, r.response));
  }
  return s;
}

// Baseline: 20 000 requests (e.g. a frozen day of traffic), from its own seed.
const baseline = sketchWindow(trafficSource(1001), 20_000);

describe('calibration', () => {
  it('200 windows of n = 1000 without drift raise at most 1 % alarms (any feature minor or above)', () => {
    const next = trafficSource(2002);
    let alarmed = 0;
    const worstPsi: Record<string, number> = {};
    for (let w = 0; w < 200; w++) {
      const report = evaluateSketches(baseline, sketchWindow(next, 1000), SETTINGS);
      if (report.some((f) => f.status === 'minor' || f.status === 'major')) alarmed++;
      for (const f of report) worstPsi[f.feature] = Math.max(worstPsi[f.feature] ?? 0, f.psi);
      expect(report.every((f) => f.status !== 'insufficient_data')).toBe(true);
    }
    expect(alarmed / 200).toBeLessThanOrEqual(0.01);
  }, 60_000);

  it('the chi-square guard keeps small windows quiet where the bare 0.1 band fires often', () => {
    const next = trafficSource(3003);
    const small = { ...SETTINGS, minCount: 50 };
    let guarded = 0;
    let bandOnly = 0;
    for (let w = 0; w < 200; w++) {
      const f = evaluateFeature('prompt_chars', baseline, sketchWindow(next, 100), small);
      if (f.status === 'minor' || f.status === 'major') guarded++;
      if (f.psi >= 0.1) bandOnly++;
    }
    expect(bandOnly / 200).toBeGreaterThan(0.15);
    expect(guarded / 200).toBeLessThanOrEqual(0.03);
  });

  it('windows below minCount are insufficient_data', () => {
    const f = evaluateFeature('prompt_chars', baseline, sketchWindow(trafficSource(5), 50), SETTINGS);
    expect(f.status).toBe('insufficient_data');
  });

  it('doubling the prompt-length distribution is major in the first full window', () => {
    const doubled: TrafficShape = { ...BASE_SHAPE, lengthScale: 2 };
    const report = evaluateSketches(baseline, sketchWindow(trafficSource(4004, doubled), 1000), SETTINGS);
    const byName = Object.fromEntries(report.map((f) => [f.feature, f]));
    expect(byName.prompt_chars?.status).toBe('major');
    expect(byName.prompt_tokens?.status).toBe('major');
    expect(byName.temperature?.status).toBe('none');
    expect(byName.completion_tokens?.status).toBe('none');
    // The attribution points at the upper bins.
    const terms = byName.prompt_chars!.contributions;
    expect(terms.at(-1)!.actual).toBeGreaterThan(terms.at(-1)!.expected * 3);
  });

  it('a changed temperature mix is flagged by the categorical PSI, and only there', () => {
    const hot: TrafficShape = { ...BASE_SHAPE, temperatureMix: [[0, 0.1], [0.7, 0.3], [1, 0.55], [undefined, 0.05]] };
    const report = evaluateSketches(baseline, sketchWindow(trafficSource(5005, hot), 1000), SETTINGS);
    const byName = Object.fromEntries(report.map((f) => [f.feature, f]));
    expect(['minor', 'major']).toContain(byName.temperature?.status);
    expect(byName.temperature?.linf).toBeGreaterThan(0.3);
    expect(byName.temperature?.contributions.map((c) => c.bin)).toEqual(['0.0', '0.7', '1.0', 'unset', '__other__']);
    expect(report.filter((f) => f.status === 'minor' || f.status === 'major').map((f) => f.feature)).toEqual(['temperature']);
  });

  it('a new script shows up in the script feature and the n-gram histogram', () => {
    const next = trafficSource(6006);
    const s = new FeatureSketches();
    for (let i = 0; i < 1000; i++) {
      const r = next();
      if (i % 2 === 0) (r.body.messages as Array<{ content: string }>).at(-1)!.content = 'Пожалуйста, кратко перескажите этот текст. '.repeat(10);
      s.record(extractFeatures(r.body, r.response));
    }
    const report = Object.fromEntries(evaluateSketches(baseline, s, SETTINGS).map((f) => [f.feature, f]));
    expect(report.script?.status).toBe('major');
    expect(report.script?.outOfRangeRate).toBeCloseTo(0.5, 1);
    expect(report.prompt_ngram?.status).toBe('major');
  });
});
