import { describe, expect, it } from 'vitest';
import { defaultDriftConfig, driftConfigSchema, featureEnabled } from '../../../src/config/drift.ts';

describe('driftConfigSchema', () => {
  it('has defaults for every field', () => {
    expect(defaultDriftConfig).toMatchObject({
      enabled: true,
      windows: [{ name: '5m', size: 300_000 }, { name: '1h', size: 3_600_000 }],
      trailingDays: 7,
      bins: 10,
      minCount: 200,
      alpha: 0.01,
      smoothing: 'half',
      sampling: 1,
      flushInterval: 10_000,
    });
    expect(featureEnabled(defaultDriftConfig, 'prompt_ngram')).toBe(true);
  });

  it('parses durations and feature switches', () => {
    const cfg = driftConfigSchema.parse({ windows: [{ name: '1m', size: '1m', retention: '2h' }, { name: '1d', size: '1d', retention: '30d' }], features: { prompt_ngram: false } });
    expect(cfg.windows.map((w) => [w.size, w.retention])).toEqual([[60_000, 7_200_000], [86_400_000, 30 * 86_400_000]]);
    expect(featureEnabled(cfg, 'prompt_ngram')).toBe(false);
  });

  it('explains invalid configs with a path', () => {
    const bad = driftConfigSchema.safeParse({
      windows: [{ name: '5m', size: '5m', retention: '1d' }, { name: '7m', size: '7m', retention: '1m' }],
      alertWindow: '2h',
      smoothing: 'none',
      features: { nope: true },
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages.some((m) => m.startsWith('smoothing'))).toBe(true);
    expect(messages.some((m) => m.startsWith('features'))).toBe(true);
    const refine = driftConfigSchema.safeParse({ windows: [{ name: '5m', size: '5m', retention: '1d' }, { name: '7m', size: '7m', retention: '1m' }], alertWindow: '2h' });
    const refined = refine.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(refined).toContain('windows.1.size: window size must be a multiple of the first (finest) window, 300000 ms');
    expect(refined).toContain('windows.1.retention: retention must be at least one window');
    expect(refined).toContain('alertWindow: alertWindow must name one of the windows: 5m, 7m');
    expect(driftConfigSchema.safeParse({ windows: [{ name: '5m', size: '5 minutes', retention: '1d' }] }).error?.issues[0]?.message).toContain('like 5m, 1h or 7d');
  });
});
