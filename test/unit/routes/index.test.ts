import { describe, expect, it } from 'vitest';
import * as kvroute from '../../../routes/index.ts';

describe('library entry (routes/index.ts)', () => {
  it('exports the sketch and PSI functions, and they work', () => {
    const r = kvroute.psi([0.4, 0.3, 0.3], [0.35, 0.25, 0.4], { smoothing: 'none', input: 'shares' });
    expect(r.psi).toBeCloseTo(0.0445608547, 9);
    const h = new kvroute.LogHist();
    for (let i = 1; i <= 100; i++) h.add(i);
    expect(kvroute.LogHist.deserialize(h.serialize()).n).toBe(100);
  });

  it('exports the router, the config schema and the policy factory', () => {
    expect(typeof kvroute.createApp).toBe('function');
    expect(typeof kvroute.startNodeRouter).toBe('function');
    expect(kvroute.policyNames).toContain('prefix-affinity');
    expect(kvroute.parseTenantConfig({ models: {}, pools: {} }).ok).toBe(true);
  });
});
