import { describe, it, expect } from 'vitest';
import { compareOutputs, diffyVerdict, lengthRatio, normalizeText, textSimilarity } from '../../../../src/experiments/shadow/compare.ts';

describe('text comparison', () => {
  it('normalises case, width and punctuation', () => {
    expect(normalizeText('  Hello,   WORLD!! ＡＢＣ ')).toBe('hello world abc');
  });

  it('weighted Jaccard over word multisets', () => {
    expect(textSimilarity('the cat sat', 'the cat sat')).toBe(1);
    expect(textSimilarity('The cat, sat.', 'the CAT sat')).toBe(1);
    expect(textSimilarity('a b c d', 'a b x y')).toBeCloseTo(2 / 6);
    expect(textSimilarity('a a b', 'a b')).toBeCloseTo(2 / 3); // multiplicity counts
    expect(textSimilarity('', '')).toBe(1);
    expect(textSimilarity('abc', '')).toBe(0);
    expect(textSimilarity('sat cat the', 'the cat sat')).toBe(1); // order-insensitive by design
  });

  it('length ratio is candidate over primary', () => {
    expect(lengthRatio('abcd', 'ab')).toBe(0.5);
    expect(lengthRatio('', '')).toBe(1);
    expect(lengthRatio('', 'x')).toBeNull();
  });

  it('compareOutputs combines exact match, similarity, length and finish agreement', () => {
    expect(compareOutputs({ text: 'Yes.', finishReason: 'stop' }, { text: 'yes', finishReason: 'length' })).toEqual({
      exactMatch: false, similarity: 1, lengthRatio: 0.75, finishAgree: false,
    });
  });

  it('is cheap on long outputs (capped word count)', () => {
    const long = 'word '.repeat(200_000);
    expect(textSimilarity(long, long)).toBe(1);
  });
});

describe('Diffy noise floor', () => {
  it('flags a difference well above noise', () => {
    const v = diffyVerdict({ rawDiffs: 300, rawTotal: 1000, noiseDiffs: 100, noiseTotal: 1000 });
    expect(v.rawRate).toBeCloseTo(0.3);
    expect(v.noiseRate).toBeCloseTo(0.1);
    expect(v.absoluteDifference).toBeCloseTo(20);
    expect(v.relativeDifference).toBeCloseTo(50);
    expect(v.significant).toBe(true);
  });
  it('does not flag disagreement that the noise floor explains (relative <= 20%)', () => {
    expect(diffyVerdict({ rawDiffs: 110, rawTotal: 1000, noiseDiffs: 100, noiseTotal: 1000 }).significant).toBe(false);
  });
  it('does not flag when the candidate disagrees less than the noise', () => {
    expect(diffyVerdict({ rawDiffs: 10, rawTotal: 1000, noiseDiffs: 100, noiseTotal: 1000 }).significant).toBe(false);
  });
  it('uses rates when the samples differ in size; no noise sample counts as zero noise', () => {
    expect(diffyVerdict({ rawDiffs: 30, rawTotal: 100, noiseDiffs: 1, noiseTotal: 10 }).noiseRate).toBeCloseTo(0.1);
    expect(diffyVerdict({ rawDiffs: 5, rawTotal: 100, noiseDiffs: 0, noiseTotal: 0 }).significant).toBe(true);
  });
});

describe('word tokenizer', () => {
  it('splits exactly like normalizeText (random ASCII, accents, CJK, emoji, surrogates)', () => {
    const alphabet = ['a', 'B', 'z', '0', '9', ' ', ',', '.', '-', '\n', 'é', 'Ä', 'ß', '中', '文', '😀', '𝐀', 'ｆ', 'İ', '\u0301', '_', "'"];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 2000; k++) {
      const len = Math.floor(rnd() * 30);
      let a = '';
      for (let i = 0; i < len; i++) a += alphabet[Math.floor(rnd() * alphabet.length)];
      // Self-similarity 1 and similarity to the normalised form 1 hold only if both tokenisations agree.
      expect(textSimilarity(a, normalizeText(a))).toBe(1);
      const words = normalizeText(a).split(' ').filter(Boolean);
      const other = words.slice(1).join(' ');
      const expected = words.length === 0 ? 1 : (words.length - 1) / words.length;
      if (new Set(words).size === words.length) expect(textSimilarity(a, other)).toBeCloseTo(expected);
    }
  });
});
