import { describe, expect, it } from 'vitest';
import { applyEvaluation, emptyAlertState } from '../../../src/drift/alerts.ts';
import type { FeatureDrift } from '../../../src/drift/report.ts';
import type { DriftStatus } from '../../../src/drift/psi.ts';

const ctx = { tenantId: 't', model: 'm', arm: '', window: '5m', windowStart: 0, baselineVersion: 1 as const, at: 0 };
const drift = (status: DriftStatus): FeatureDrift => ({ feature: 'prompt_chars', kind: 'numeric', status, psi: 0.3, js: 0.1, n: 500, m: 5000, bins: 10, crit: 0.05, outOfRangeRate: 0, contributions: [], smoothing: 'half' });

describe('alert transitions', () => {
  it('fires once per transition into major; insufficient_data does not re-arm, a recovery does', () => {
    const state = emptyAlertState();
    const sequence: DriftStatus[] = ['insufficient_data', 'none', 'major', 'major', 'insufficient_data', 'major', 'minor', 'major', 'none', 'none', 'major'];
    const fired = sequence.map((s) => applyEvaluation(state, ctx, [drift(s)]).alerts.length);
    expect(fired).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1]);
  });

  it('writes a status row only when the status changes', () => {
    const state = emptyAlertState();
    const rows = (['none', 'none', 'minor', 'minor', 'major'] as DriftStatus[]).map((s) => applyEvaluation(state, ctx, [drift(s)]).rows);
    expect(rows.map((r) => r.map((x) => `${x.previous}->${x.status}`))).toEqual([['null->none'], [], ['none->minor'], [], ['minor->major']]);
  });
});
