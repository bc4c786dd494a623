// Baselines: what a window is compared with, and the PSI bins derived from it.
//
// Numeric bins are cut at the baseline's quantiles, snapped to log-bucket boundaries: cut j is the smallest bucket
// key whose cumulative baseline count reaches j*m/B. Duplicate cuts are dropped (ties in discrete-ish features),
// so the effective bin count can be below B. The first and last bins are open-ended, so values beyond the
// baseline's range land in the end bins and are reported separately as the out-of-range rate.
// Categorical bins are the baseline categories with share >= categoryMinShare, plus OTHER (rarer baseline
// categories and every category the baseline never saw).
import type { CatCounts } from './categorical.ts';
import { ZERO_KEY, type LogHist } from './loghist.ts';
import type { FeatureSketchesJSON } from './sketches.ts';

export const OTHER_BIN = '__other__';

/** Ascending cut keys; bin i holds keys in (cuts[i-1], cuts[i]], the last bin everything above the last cut. */
export function quantileCutKeys(baseline: LogHist, bins: number): number[] {
  const buckets = baseline.sortedBuckets();
  const m = baseline.n;
  const cuts: number[] = [];
  if (m === 0 || buckets.length === 0) return cuts;
  let j = 1;
  let cumulative = 0;
  for (const [key, count] of buckets) {
    cumulative += count;
    let cut = false;
    while (j < bins && cumulative >= (j * m) / bins) {
      cut = true;
      j++;
    }
    if (cut) cuts.push(key);
  }
  // A cut at the top bucket would leave an empty last bin in the baseline: the last bin is open-ended anyway.
  const top = buckets[buckets.length - 1]![0]; // not empty: checked above
  while (cuts.length && cuts[cuts.length - 1]! >= top) cuts.pop();
  // A baseline concentrated in one bucket still gets two bins (<= its value, above it), so a rise is visible.
  if (cuts.length === 0) cuts.push(top);
  return cuts;
}

/** Counts of a histogram in the bins defined by `cuts` (length cuts.length + 1). */
export function binCounts(hist: LogHist, cuts: readonly number[]): number[] {
  const out = new Array<number>(cuts.length + 1).fill(0);
  // binIndex is in [0, cuts.length], within out.
  if (hist.zero > 0) out[binIndex(ZERO_KEY, cuts)]! += hist.zero;
  for (const [key, count] of hist.counts) out[binIndex(key, cuts)]! += count;
  return out;
}

function binIndex(key: number, cuts: readonly number[]): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key <= cuts[mid]!) hi = mid; // lo <= mid < hi <= cuts.length
    else lo = mid + 1;
  }
  return lo;
}

/** Share of `current` outside the baseline's observed bucket range. */
export function numericOutOfRange(baseline: LogHist, current: LogHist): number {
  if (current.n === 0 || baseline.n === 0) return 0;
  const b = baseline.sortedBuckets();
  // baseline.n > 0, so it has at least one bucket.
  const lo = b[0]![0];
  const hi = b[b.length - 1]![0];
  let outside = 0;
  if (lo !== ZERO_KEY) outside += current.zero;
  for (const [key, count] of current.counts) if (key < lo || key > hi) outside += count;
  return outside / current.n;
}

/** Categorical bins: baseline categories with share >= minShare (sorted by name), then OTHER. */
export function categoryBins(baseline: CatCounts, minShare: number): string[] {
  const keep: string[] = [];
  for (const [k, c] of baseline.counts) if (baseline.n > 0 && c / baseline.n >= minShare) keep.push(k);
  keep.sort();
  keep.push(OTHER_BIN);
  return keep;
}

export function categoryCounts(sketch: CatCounts, bins: readonly string[]): number[] {
  const out = new Array<number>(bins.length).fill(0);
  const index = new Map(bins.map((b, i) => [b, i]));
  const other = bins.length - 1;
  // bins end with OTHER_BIN (categoryBins), so `other` is a valid index.
  for (const [k, c] of sketch.counts) out[index.get(k) ?? other]! += c;
  out[other]! += sketch.other;
  return out;
}

/** Share of `current` in categories the baseline never saw. */
export function categoricalOutOfRange(baseline: CatCounts, current: CatCounts): number {
  if (current.n === 0) return 0;
  let unseen = 0;
  for (const [k, c] of current.counts) if (!baseline.counts.has(k)) unseen += c;
  return unseen / current.n;
}

/** How a baseline is chosen. */
export type BaselineSpec =
  /** Frozen: the merged windows of [from, to) (epoch ms), materialised when it is PUT. */
  | { kind: 'frozen'; from: number; to: number; label?: string }
  /** Rolling: the trailing N days before the current window, recomputed on every report. */
  | { kind: 'trailing'; days: number; label?: string };

export interface BaselineMeta {
  version: number;
  createdAt: number;
  spec: BaselineSpec;
  /** (model, arm) groups with data, and their request counts (frozen baselines only). */
  groups: Array<{ model: string; arm: string; requests: number }>;
}

export interface StoredBaseline extends BaselineMeta {
  /** Frozen sketches by group key (see groupKey). */
  sketches: Record<string, FeatureSketchesJSON>;
}

export function groupKey(model: string, arm: string): string {
  return `${encodeURIComponent(model)}|${encodeURIComponent(arm)}`;
}
