// Every value in psi-golden.json (a copy of ../shared/notes/psi-golden.json, vendored so a fresh clone can run it),
// reproduced under its stated convention to 1e-9.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { psi, jsDivergence, lInfinity } from '../../../src/drift/psi.ts';
import { chi2Quantile } from '../../../src/drift/chi2.ts';
import { phi, phiInverse } from './helpers.ts';

const goldenPath = fileURLToPath(new URL('./psi-golden.json', import.meta.url));
const golden = JSON.parse(readFileSync(goldenPath, 'utf8')) as Record<string, number | number[]>;
const TOL = 1e-9;

/** Shares of N(mu, 1) in the B baseline-quantile bins of N(0, 1) (open-ended end bins). */
function normalShiftShares(mu: number, bins: number): { e: number[]; a: number[] } {
  const edges = Array.from({ length: bins - 1 }, (_, j) => phiInverse((j + 1) / bins));
  const cdf = [0, ...edges.map((x) => phi(x - mu)), 1];
  return { e: Array<number>(bins).fill(1 / bins), a: cdf.slice(1).map((c, i) => c - cdf[i]!) };
}

const computed: Record<string, () => number | number[]> = {
  G1: () => psi([0.4, 0.3, 0.3], [0.35, 0.25, 0.4]).psi,
  G2: () => psi(Array(10).fill(0.1), [0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.13, 0.15, 0.16]).psi,
  G3: () => psi([1200, 2400, 3100, 2000, 900, 400], [150, 380, 700, 900, 520, 350], { input: 'counts' }).psi,
  'G4 floor eps=1e-4 (no renorm)': () => psi([500, 300, 150, 50], [80, 20, 0, 0], { input: 'counts', smoothing: 'floor' }).psi,
  'G4 Evidently fill rule': () => psi([500, 300, 150, 50], [80, 20, 0, 0], { input: 'counts', smoothing: 'evidently' }).psi,
  'G4 additive alpha=0.5 on counts': () => psi([500, 300, 150, 50], [80, 20, 0, 0], { input: 'counts', smoothing: 'half' }).psi,
  'G4 additive alpha=1 (Laplace)': () => psi([500, 300, 150, 50], [80, 20, 0, 0], { input: 'counts', smoothing: 'laplace' }).psi,
  G5: () => psi([0.7, 0.12, 0.08, 0.05, 0.05, 0], [0.55, 0.1, 0.15, 0.05, 0.04, 0.11], { smoothing: 'floor' }).psi,
  'G5b other-folded': () => psi([0.7, 0.12, 0.08, 0.05, 0.05], [0.55, 0.1, 0.15, 0.05, 0.15]).psi,
  'G6 identical': () => psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]).psi,
  'G6 sym': () => [psi([0.2, 0.3, 0.5], [0.3, 0.3, 0.4]).psi, psi([0.3, 0.3, 0.4], [0.2, 0.3, 0.5]).psi],
  'G7 mu=0.1000': () => { const { e, a } = normalShiftShares(0.1, 10); return psi(e, a).psi; },
  'G7 mu=0.2500': () => { const { e, a } = normalShiftShares(0.25, 10); return psi(e, a).psi; },
  'G7 mu=0.3333': () => { const { e, a } = normalShiftShares(1 / 3, 10); return psi(e, a).psi; },
  'G7 mu=0.5000': () => { const { e, a } = normalShiftShares(0.5, 10); return psi(e, a).psi; },
  'G7 mu=1.0000': () => { const { e, a } = normalShiftShares(1, 10); return psi(e, a).psi; },
  'G8 B=5': () => { const { e, a } = normalShiftShares(0.5, 5); return psi(e, a).psi; },
  'G8 B=10': () => { const { e, a } = normalShiftShares(0.5, 10); return psi(e, a).psi; },
  'G8 B=20': () => { const { e, a } = normalShiftShares(0.5, 20); return psi(e, a).psi; },
  'G8 B=50': () => { const { e, a } = normalShiftShares(0.5, 50); return psi(e, a).psi; },
  'G9 floor eps=1e-4': () => psi([5000, 3000, 1999, 1, 0], [9000, 6000, 4000, 0, 1000], { input: 'counts', smoothing: 'floor' }).psi,
  'G9 Evidently fill rule': () => psi([5000, 3000, 1999, 1, 0], [9000, 6000, 4000, 0, 1000], { input: 'counts', smoothing: 'evidently' }).psi,
  'G9 additive alpha=0.5': () => psi([5000, 3000, 1999, 1, 0], [9000, 6000, 4000, 0, 1000], { input: 'counts', smoothing: 'half' }).psi,
};

describe('PSI golden values (psi-golden.json)', () => {
  it('covers every key of the golden file', () => {
    expect(Object.keys(computed).sort()).toEqual(Object.keys(golden).sort());
  });
  for (const [key, want] of Object.entries(golden)) {
    it(key, () => {
      const got = computed[key]!(); // the test above checks that every golden key is computed
      const wants = Array.isArray(want) ? want : [want];
      const gots = Array.isArray(got) ? got : [got];
      expect(gots).toHaveLength(wants.length);
      wants.forEach((w, i) => expect(Math.abs(gots[i]! - w)).toBeLessThan(TOL));
    });
  }
});

describe('PSI terms and companions', () => {
  it('per-bin terms match the G1 table and sum to PSI', () => {
    const r = psi([0.4, 0.3, 0.3], [0.35, 0.25, 0.4]);
    [0.0066765696, 0.0091160778, 0.0287682072].forEach((t, i) => expect(r.terms[i]).toBeCloseTo(t, 9));
    expect(r.terms.reduce((s, t) => s + t, 0)).toBeCloseTo(r.psi, 12);
  });
  it('G5 new-category term is 0.7696368939 under the floor convention', () => {
    const r = psi([0.7, 0.12, 0.08, 0.05, 0.05, 0], [0.55, 0.1, 0.15, 0.05, 0.04, 0.11], { smoothing: 'floor' });
    expect(r.terms[5]).toBeCloseTo(0.7696368939, 9);
  });
  it('half smoothing refuses shares (pseudo-counts need counts)', () => {
    expect(() => psi([0.5, 0.5], [0.4, 0.6], { smoothing: 'half' })).toThrow(/needs counts/);
  });
  it('Jensen-Shannon is 0 for equal and 1 for disjoint distributions (base 2)', () => {
    expect(jsDivergence([1, 2, 3], [2, 4, 6])).toBeCloseTo(0, 12);
    expect(jsDivergence([1, 0], [0, 1])).toBeCloseTo(1, 12);
  });
  it('L-infinity is the largest share difference', () => {
    expect(lInfinity([0.7, 0.3], [0.55, 0.45])).toBeCloseTo(0.15, 12);
  });
  it('chi-square quantiles match published tables', () => {
    expect(chi2Quantile(0.99, 1)).toBeCloseTo(6.634897, 5);
    expect(chi2Quantile(0.95, 1)).toBeCloseTo(3.841459, 5);
    expect(chi2Quantile(0.99, 5)).toBeCloseTo(15.086272, 5);
    expect(chi2Quantile(0.99, 9)).toBeCloseTo(21.665994, 5);
    expect(chi2Quantile(0.99, 100)).toBeCloseTo(135.806723, 4);
  });
});
