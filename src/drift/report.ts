// Evaluates a current window against a baseline, feature by feature: bins from the baseline, PSI under one
// smoothing convention, Jensen-Shannon, the chi-square small-sample guard and a status.
import { binCounts, categoryBins, categoryCounts, categoricalOutOfRange, numericOutOfRange, quantileCutKeys } from './baseline.ts';
import { chi2Quantile } from './chi2.ts';
import { FEATURES, type FeatureKind, type FeatureName, type Smoothing } from '../config/drift-vocabulary.ts';
import type { LogHist } from './loghist.ts';
import { classify, jsDivergence, lInfinity, psi, type DriftStatus } from './psi.ts';
import type { FeatureSketches } from './sketches.ts';

const NGRAM_TOP_CONTRIBUTIONS = 10;

export interface EvaluationSettings {
  bins: number;
  minCount: number;
  /** False-alarm probability allowed by the chi-square guard. */
  alpha: number;
  smoothing: Smoothing;
  categoryMinShare: number;
  /** Features to leave out. */
  disabled?: ReadonlySet<string>;
}

export interface FeatureDrift {
  feature: FeatureName;
  kind: FeatureKind;
  status: DriftStatus;
  psi: number;
  /** Jensen-Shannon divergence, base 2, of the unsmoothed bin shares. */
  js: number;
  /** Categorical only: max share difference over the bins. */
  linf?: number;
  /** Current-window sample size (prompts for prompt_ngram). */
  n: number;
  /** Baseline sample size. */
  m: number;
  /** Effective number of bins. */
  bins: number;
  /** Chi-square critical PSI: chi2_{bins-1, 1-alpha} (1/n + 1/m); null when there is nothing to compare. */
  crit: number | null;
  /** Share of the current window outside the baseline's range (numeric) or in categories it never saw. */
  outOfRangeRate: number;
  /** Per-bin PSI terms, with a label for each bin (upper edge for numeric bins, category otherwise). */
  contributions: Array<{ bin: string; expected: number; actual: number; term: number }>;
  smoothing: Smoothing;
}

/** chi2_{B-1, 1-alpha} (1/n + 1/m): PSI that a window without drift exceeds with probability ~alpha. */
export function criticalPsi(bins: number, n: number, m: number, alpha: number): number {
  if (bins < 2 || n <= 0 || m <= 0) return Infinity;
  return chi2Quantile(1 - alpha, bins - 1) * (1 / n + 1 / m);
}

function numericLabels(hist: LogHist, cuts: readonly number[]): string[] {
  const edges = cuts.map((k) => hist.upperBound(k));
  return [...edges.map((e) => `<=${formatEdge(e)}`), `>${formatEdge(edges.at(-1) ?? 0)}`];
}

function formatEdge(x: number): string {
  return x === 0 ? '0' : Number(x.toPrecision(4)).toString();
}

function evaluateBins(
  feature: FeatureName,
  kind: FeatureKind,
  labels: string[],
  expected: number[],
  actual: number[],
  n: number,
  m: number,
  outOfRangeRate: number,
  s: EvaluationSettings,
): FeatureDrift {
  const p = psi(expected, actual, { input: 'counts', smoothing: s.smoothing });
  const crit = criticalPsi(labels.length, n, m, s.alpha);
  return {
    feature,
    kind,
    status: classify(p.psi, crit, n, m, s.minCount),
    psi: p.psi,
    js: jsDivergence(expected, actual),
    ...(kind === 'categorical' ? { linf: lInfinity(expected, actual) } : {}),
    n,
    m,
    bins: labels.length,
    crit: Number.isFinite(crit) ? crit : null,
    outOfRangeRate,
    contributions: labels.map((bin, i) => ({ bin, expected: p.expected[i]!, actual: p.actual[i]!, term: p.terms[i]! })), // one value per bin label
    smoothing: s.smoothing,
  };
}

/** A feature with no data on one side: reported with its sample sizes only. */
function noData(feature: FeatureName, kind: FeatureKind, n: number, m: number, s: EvaluationSettings): FeatureDrift {
  return { feature, kind, status: 'insufficient_data', psi: 0, js: 0, n, m, bins: 0, crit: null, outOfRangeRate: 0, contributions: [], smoothing: s.smoothing };
}

export function evaluateFeature(name: FeatureName, baseline: FeatureSketches, current: FeatureSketches, s: EvaluationSettings): FeatureDrift {
  const kind = FEATURES.find((f) => f.name === name)!.kind;
  if (kind === 'numeric') {
    const b = baseline.numeric.get(name as never);
    const c = current.numeric.get(name as never);
    const n = c?.n ?? 0;
    const m = b?.n ?? 0;
    if (!b || !c || n === 0 || m === 0) return noData(name, kind, n, m, s);
    const cuts = quantileCutKeys(b, s.bins);
    return evaluateBins(name, kind, numericLabels(b, cuts), binCounts(b, cuts), binCounts(c, cuts), n, m, numericOutOfRange(b, c), s);
  }
  if (kind === 'categorical') {
    const b = baseline.categorical.get(name as never);
    const c = current.categorical.get(name as never);
    const n = c?.n ?? 0;
    const m = b?.n ?? 0;
    if (!b || !c || n === 0 || m === 0) return noData(name, kind, n, m, s);
    const bins = categoryBins(b, s.categoryMinShare);
    return evaluateBins(name, kind, bins, categoryCounts(b, bins), categoryCounts(c, bins), n, m, categoricalOutOfRange(b, c), s);
  }
  // n-gram: bins are the hash buckets; the sample sizes are prompts, not grams, because the grams of one prompt
  // are not independent. That makes the chi-square guard conservative for this feature.
  const b = baseline.ngram;
  const c = current.ngram;
  const n = c?.prompts ?? 0;
  const m = b?.prompts ?? 0;
  if (!b || !c || n === 0 || m === 0 || b.total === 0 || c.total === 0) return noData(name, kind, n, m, s);
  const labels = Array.from({ length: b.buckets }, (_, i) => `#${i}`);
  const drift = evaluateBins(name, kind, labels, Array.from(b.counts), Array.from(c.counts), n, m, 0, s);
  // 256 hash buckets have no meaning one by one: keep the ten largest terms as the attribution.
  drift.contributions = drift.contributions.sort((x, y) => y.term - x.term).slice(0, NGRAM_TOP_CONTRIBUTIONS);
  return drift;
}

/** Every enabled feature of `current` against `baseline`, in catalogue order. */
export function evaluateSketches(baseline: FeatureSketches, current: FeatureSketches, s: EvaluationSettings): FeatureDrift[] {
  return FEATURES.filter((f) => !s.disabled?.has(f.name)).map((f) => evaluateFeature(f.name, baseline, current, s));
}

const SEVERITY: Record<DriftStatus, number> = { insufficient_data: 0, none: 1, minor: 2, major: 3 };

/** The most severe status among features (insufficient_data only if nothing could be evaluated). */
export function worstStatus(features: readonly FeatureDrift[]): DriftStatus {
  let worst: DriftStatus = 'insufficient_data';
  for (const f of features) if (SEVERITY[f.status] > SEVERITY[worst]) worst = f.status;
  return worst;
}
