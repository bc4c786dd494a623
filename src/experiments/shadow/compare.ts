// Comparison of two completions of the same request (candidate vs primary, or primary vs a second primary), and
// the Diffy rule that reads candidate disagreement against primary-vs-primary noise. Pure and cheap: O(n) in
// the output length, capped.
//
// Similarity measure: weighted Jaccard (Ruzicka) over word multisets of the normalised texts:
//   normalise = Unicode NFKC, lower case, every run of non-letter/non-digit characters becomes one space;
//   similarity = sum_w min(countA(w), countB(w)) / sum_w max(countA(w), countB(w)), in [0, 1];
//   both texts empty -> 1; only the first 20,000 words of each text count.
// It ignores word order and punctuation, so it reads "same content, different phrasing/format" as close, and
// it costs one Map pass per text.

export const SIMILARITY_MAX_WORDS = 20_000;
export const SIMILARITY_MEASURE = 'word-multiset-jaccard-v1';

export function normalizeText(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** True when the code point at s[i] is a letter or digit; ASCII answered without the regex. */
function isWordChar(s: string, i: number, c: number): boolean {
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);
  return WORD_CHAR.test(String.fromCodePoint(s.codePointAt(i)!));
}

/** Word multiset of normalizeText(text) without building the normalised string (same words, same order). */
function wordCounts(text: string): Map<string, number> {
  const s = text.normalize('NFKC').toLowerCase();
  const counts = new Map<string, number>();
  let start = -1;
  let n = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 32;
    const word = i < s.length && isWordChar(s, i, c);
    if (word) {
      if (start < 0) start = i;
      if (c >= 0xd800 && c <= 0xdbff) i++; // the low surrogate belongs to the same code point
      continue;
    }
    if (start >= 0) {
      if (++n > SIMILARITY_MAX_WORDS) break;
      const w = s.slice(start, i);
      counts.set(w, (counts.get(w) ?? 0) + 1);
      start = -1;
    }
  }
  return counts;
}

/** Weighted Jaccard similarity of the word multisets of two texts (see the header). */
export function textSimilarity(a: string, b: string): number {
  const ca = wordCounts(a);
  const cb = wordCounts(b);
  if (ca.size === 0 && cb.size === 0) return 1;
  let inter = 0;
  let union = 0;
  for (const [w, x] of ca) {
    const y = cb.get(w) ?? 0;
    inter += Math.min(x, y);
    union += Math.max(x, y);
  }
  for (const [w, y] of cb) if (!ca.has(w)) union += y;
  return union === 0 ? 1 : inter / union;
}

/** Candidate length over primary length in characters; 1 when both are empty, null when only the primary is. */
export function lengthRatio(primary: string, candidate: string): number | null {
  if (primary.length === 0) return candidate.length === 0 ? 1 : null;
  return candidate.length / primary.length;
}

export interface TextComparison {
  exactMatch: boolean;
  similarity: number;
  lengthRatio: number | null;
  finishAgree: boolean;
}

export function compareOutputs(
  primary: { text: string; finishReason: string | null },
  candidate: { text: string; finishReason: string | null },
): TextComparison {
  return {
    exactMatch: primary.text === candidate.text,
    similarity: textSimilarity(primary.text, candidate.text),
    lengthRatio: lengthRatio(primary.text, candidate.text),
    finishAgree: primary.finishReason === candidate.finishReason,
  };
}

// ---- Diffy noise floor -------------------------------------------------------------------------------------

export interface DiffyThresholds {
  /** Percent; Diffy's default 20. */
  relative: number;
  /** Percent; Diffy's default 0.03. */
  absolute: number;
}

export const DIFFY_DEFAULTS: DiffyThresholds = { relative: 20, absolute: 0.03 };

export interface DiffyInput {
  /** Candidate-vs-primary pairs that disagree on the field, out of rawTotal. */
  rawDiffs: number;
  rawTotal: number;
  /** Primary-vs-primary pairs that disagree on the field, out of noiseTotal. */
  noiseDiffs: number;
  noiseTotal: number;
}

export interface DiffyVerdict {
  rawRate: number;
  noiseRate: number;
  /** |raw - noise| in percentage points. */
  absoluteDifference: number;
  /** |raw - noise| / (raw + noise) * 100. */
  relativeDifference: number;
  /** Diffy's rule: raw > noise AND relative > threshold AND absolute > threshold. */
  significant: boolean;
}

/**
 * Diffy's DifferencesFilter on rates (Diffy uses counts over one shared total; with separate totals for the raw
 * and noise samples, rates are the same quantity). With no noise sample, noise counts as 0.
 */
export function diffyVerdict(x: DiffyInput, t: DiffyThresholds = DIFFY_DEFAULTS): DiffyVerdict {
  const rawRate = x.rawTotal > 0 ? x.rawDiffs / x.rawTotal : 0;
  const noiseRate = x.noiseTotal > 0 ? x.noiseDiffs / x.noiseTotal : 0;
  const gap = Math.abs(rawRate - noiseRate);
  const absoluteDifference = gap * 100;
  const relativeDifference = rawRate + noiseRate > 0 ? (gap / (rawRate + noiseRate)) * 100 : 0;
  return {
    rawRate,
    noiseRate,
    absoluteDifference,
    relativeDifference,
    significant: rawRate > noiseRate && relativeDifference > t.relative && absoluteDifference > t.absolute,
  };
}
