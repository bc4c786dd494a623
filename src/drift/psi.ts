// Population Stability Index and its companions over a fixed set of bins.
//
//   PSI = sum_i (a_i - e_i) * ln(a_i / e_i)      e = expected (baseline) share, a = actual (current) share
//
// PSI is symmetric (it is the Jeffreys divergence). What changes the number between tools is how empty bins are
// handled, so the convention is always explicit and returned with the result:
//   none       shares as given; an empty bin makes PSI infinite
//   half       additive 0.5 on counts: (c + 0.5) / (n + 0.5 B) (Jeffreys prior; the router's default: it tracks
//              the chi-square theory at small n, where an epsilon floor inflates PSI by ~0.69 per empty decile)
//   laplace    additive 1 on counts
//   floor      zero shares replaced by epsilon (1e-4), no renormalisation (feature_engine, most blog posts)
//   evidently  Evidently's rule: zero shares become 1e-4, or min_nonzero / 1e6 when min_nonzero <= 1e-4
//
// The names of these conventions are plain data in src/config/drift-vocabulary.ts (a tenant's config picks one).
import type { Smoothing } from '../config/drift-vocabulary.ts';

export const FLOOR_EPSILON = 1e-4;

export interface PsiOptions {
  smoothing?: Smoothing;
  /** 'counts' divides by the total (and allows additive smoothing); 'shares' takes the values as shares. */
  input?: 'counts' | 'shares';
  epsilon?: number;
}

export interface PsiResult {
  psi: number;
  /** Per-bin terms (a_i - e_i) ln(a_i / e_i): each >= 0, they sum to psi (attribution). */
  terms: number[];
  expected: number[];
  actual: number[];
  smoothing: Smoothing;
}

function total(v: readonly number[]): number {
  let t = 0;
  for (const x of v) t += x;
  return t;
}

function checkVector(name: string, v: readonly number[]): void {
  for (const x of v) if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`${name} must hold finite non-negative numbers, got ${x}`);
}

/** Turns one vector into the shares PSI compares, under a smoothing convention. */
export function smoothedShares(v: readonly number[], input: 'counts' | 'shares', smoothing: Smoothing, epsilon = FLOOR_EPSILON): number[] {
  if (smoothing === 'half' || smoothing === 'laplace') {
    if (input !== 'counts') throw new Error(`smoothing '${smoothing}' adds pseudo-counts, so it needs counts, not shares`);
    const k = smoothing === 'half' ? 0.5 : 1;
    const denom = total(v) + k * v.length;
    return v.map((c) => (c + k) / denom);
  }
  const t = input === 'counts' ? total(v) : 1;
  if (!(t > 0)) throw new Error('cannot compute shares of an all-zero count vector');
  const shares = v.map((x) => x / t);
  if (smoothing === 'floor') return shares.map((s) => (s === 0 ? epsilon : s));
  if (smoothing === 'evidently') {
    const nonZero = shares.filter((s) => s > 0);
    const minNonZero = nonZero.length ? Math.min(...nonZero) : 1;
    const fill = minNonZero <= 1e-4 ? minNonZero / 1e6 : 1e-4;
    return shares.map((s) => (s === 0 ? fill : s));
  }
  return shares;
}

/** (a - e) ln(a / e) per bin; 0 where both shares are 0. */
export function psiTerms(expected: readonly number[], actual: readonly number[]): number[] {
  return expected.map((e, i) => {
    const a = actual[i]!; // same length as expected: psi() checks, other callers build both from one bin list
    if (a === e) return 0;
    return (a - e) * Math.log(a / e);
  });
}

/** PSI of two bin vectors (counts or shares) under one smoothing convention. */
export function psi(expected: readonly number[], actual: readonly number[], options: PsiOptions = {}): PsiResult {
  if (expected.length !== actual.length) throw new RangeError(`expected has ${expected.length} bins but actual has ${actual.length}`);
  if (expected.length === 0) throw new RangeError('PSI needs at least one bin');
  checkVector('expected', expected);
  checkVector('actual', actual);
  const smoothing = options.smoothing ?? 'none';
  const input = options.input ?? 'shares';
  const e = smoothedShares(expected, input, smoothing, options.epsilon);
  const a = smoothedShares(actual, input, smoothing, options.epsilon);
  const terms = psiTerms(e, a);
  return { psi: total(terms), terms, expected: e, actual: a, smoothing };
}

function normalise(v: readonly number[]): number[] {
  const t = total(v);
  return t > 0 ? v.map((x) => x / t) : v.map(() => 0);
}

/** Jensen-Shannon divergence, base 2, in [0, 1]; needs no smoothing (terms with a zero share are 0). */
export function jsDivergence(p: readonly number[], q: readonly number[]): number {
  const P = normalise(p);
  const Q = normalise(q);
  let d = 0;
  for (let i = 0; i < P.length; i++) {
    const pi = P[i]!; // p and q are over the same bins
    const qi = Q[i]!;
    const m = (pi + qi) / 2;
    if (pi > 0) d += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) d += 0.5 * qi * Math.log2(qi / m);
  }
  return Math.min(1, Math.max(0, d));
}

/** L-infinity distance max_i |p_i - q_i| between the normalised vectors (TFDV's categorical drift metric). */
export function lInfinity(p: readonly number[], q: readonly number[]): number {
  const P = normalise(p);
  const Q = normalise(q);
  let d = 0;
  for (let i = 0; i < P.length; i++) d = Math.max(d, Math.abs(P[i]! - Q[i]!));
  return d;
}

export type DriftStatus = 'insufficient_data' | 'none' | 'minor' | 'major';
export const MINOR_BAND = 0.1;
export const MAJOR_BAND = 0.25;

/**
 * Status from the PSI bands, gated by sample size and by chance: below minCount on either side it is
 * insufficient_data; a PSI under the chi-square critical value `crit` is 'none' whatever the band, because a
 * window without drift would reach it with probability >= alpha.
 */
export function classify(psiValue: number, crit: number, n: number, m: number, minCount: number): DriftStatus {
  if (n < minCount || m < minCount) return 'insufficient_data';
  if (psiValue < MINOR_BAND || psiValue < crit) return 'none';
  return psiValue < MAJOR_BAND ? 'minor' : 'major';
}
