import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import { checkExperimentRefs, experimentSchema, experimentsConfigSchema } from '../../../src/config/experiments.ts';

const base = { name: 'ramp', model: 'llama-3-8b', arms: [{ name: 'control', weight: 90, pool: 'gpu-a' }, { name: 'treat', weight: 10, pool: 'gpu-b', model: 'llama-3.1-8b' }] };

describe('experiment config', () => {
  it('fills defaults: salt = name, empty sticky key, shadow defaults', () => {
    const e = experimentSchema.parse({ ...base, shadow: { pool: 'gpu-c' } });
    expect(e.salt).toBe('ramp');
    expect(e.enabled).toBe(true);
    expect(e.stickyKey).toEqual({});
    expect(e.shadow).toMatchObject({ sampleRate: 0.01, maxConcurrent: 4, noiseFloorRate: 0, timeoutMs: 25_000 });
  });

  it('lower-cases the sticky header name', () => {
    expect(experimentSchema.parse({ ...base, stickyKey: { header: 'X-Session-Id' } }).stickyKey.header).toBe('x-session-id');
  });

  it('rejects weights that do not sum to 100, pointing at arms', () => {
    const r = experimentSchema.safeParse({ ...base, arms: [{ name: 'a', weight: 50, pool: 'p' }, { name: 'b', weight: 40, pool: 'p' }] });
    expect(r.success).toBe(false);
    const issue = r.error!.issues.find((i) => i.message.includes('sum to 100'))!;
    expect(issue.path).toEqual(['arms']);
    expect(issue.message).toContain('got 90');
  });

  it('rejects duplicate arm names at the duplicate', () => {
    const r = experimentSchema.safeParse({ ...base, arms: [{ name: 'a', weight: 50, pool: 'p' }, { name: 'a', weight: 50, pool: 'p' }] });
    expect(r.error!.issues[0]).toMatchObject({ path: ['arms', 1, 'name'], message: "duplicate arm name 'a'" });
  });

  it('rejects weights finer than 0.01 percent', () => {
    const r = experimentSchema.safeParse({ ...base, arms: [{ name: 'a', weight: 99.995, pool: 'p' }, { name: 'b', weight: 0.005, pool: 'p' }] });
    expect(r.error!.issues.some((i) => i.path.join('.') === 'arms.0.weight')).toBe(true);
  });

  it('accepts 0.01-percent weights that sum exactly (no float drift)', () => {
    expect(experimentSchema.safeParse({ ...base, arms: [{ name: 'a', weight: 33.33, pool: 'p' }, { name: 'b', weight: 33.33, pool: 'p' }, { name: 'c', weight: 33.34, pool: 'p' }] }).success).toBe(true);
  });

  it('rejects duplicate experiment names and two enabled experiments on one model', () => {
    const r = experimentsConfigSchema.safeParse([base, base]);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('1.name');
    expect(paths).toContain('1.model');
  });

  it('checkExperimentRefs reports unknown pools with their full path', () => {
    const tenant = z
      .object({ pools: z.record(z.string(), z.unknown()), experiments: experimentsConfigSchema })
      .superRefine((t, ctx) => checkExperimentRefs(t.experiments, Object.keys(t.pools), ctx));
    const r = tenant.safeParse({ pools: { 'gpu-a': {} }, experiments: [{ ...base, shadow: { pool: 'nope' } }] });
    const byPath = Object.fromEntries(r.error!.issues.map((i) => [i.path.join('.'), i.message]));
    expect(byPath['experiments.0.arms.1.pool']).toBe("unknown pool 'gpu-b' (pools: gpu-a)");
    expect(byPath['experiments.0.shadow.pool']).toContain("unknown pool 'nope'");
    expect(byPath['experiments.0.arms.0.pool']).toBeUndefined();
  });
});
