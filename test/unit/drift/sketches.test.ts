import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CatCounts, type CatCountsJSON } from '../../../src/drift/categorical.ts';
import { extractFeatures } from '../../../src/drift/features.ts';
import { LogHist, ZERO_KEY } from '../../../src/drift/loghist.ts';
import { NgramHist } from '../../../src/drift/ngram.ts';
import { FeatureSketches, type FeatureSketchesJSON } from '../../../src/drift/sketches.ts';
import { fromBase64, toBase64 } from '../../../src/drift/varint.ts';
import { hashString } from '../../../src/util/hash.ts';
import { mulberry32, normalSampler } from './helpers.ts';
import { trafficSource } from './traffic.ts';

function logNormalValues(seed: number, count: number): number[] {
  const normal = normalSampler(mulberry32(seed));
  return Array.from({ length: count }, () => Math.exp(5 + 1.5 * normal()));
}

function histOf(values: number[]): LogHist {
  const h = new LogHist();
  for (const v of values) h.add(v);
  return h;
}

const bucketsOf = (h: LogHist) => ({ buckets: h.sortedBuckets(), n: h.n, min: h.min, max: h.max });

describe('LogHist', () => {
  const [a, b, c] = [logNormalValues(1, 3000), logNormalValues(2, 2000), [0, 0, 1e-6, 3, 1e9]];

  it('merge is commutative and associative, and equals the histogram of the concatenated data', () => {
    const ab_c = histOf(a).merge(histOf(b)).merge(histOf(c));
    const a_bc = histOf(a).merge(histOf(b).merge(histOf(c)));
    const cba = histOf(c).merge(histOf(b)).merge(histOf(a));
    const whole = histOf([...a, ...b, ...c]);
    expect(bucketsOf(ab_c)).toEqual(bucketsOf(whole));
    expect(bucketsOf(a_bc)).toEqual(bucketsOf(whole));
    expect(bucketsOf(cba)).toEqual(bucketsOf(whole));
    expect(ab_c.sum).toBeCloseTo(whole.sum, 6);
  });

  it('serialization round-trips exactly, through base64 too', () => {
    const h = histOf([...a, ...c]);
    const back = LogHist.deserialize(fromBase64(toBase64(h.serialize())));
    expect(bucketsOf(back)).toEqual(bucketsOf(h));
    expect(back.alpha).toBe(h.alpha);
    expect(back.sum).toBe(h.sum);
    expect(LogHist.deserialize(new LogHist().serialize()).n).toBe(0);
  });

  it('quantiles are within relative error alpha of the exact order statistics', () => {
    const values = [...a].sort((x, y) => x - y);
    const h = histOf(values);
    for (const q of [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1]) {
      const exact = values[Math.max(0, Math.ceil(q * values.length) - 1)]!;
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThanOrEqual(h.alpha + 1e-12);
    }
  });

  it('bucket boundaries are exact: every value lies in (upperBound(k-1), upperBound(k)]', () => {
    const h = new LogHist();
    for (const x of [1, 1.0000001, 2, 1000, 123456.789, 3e-4]) {
      const k = h.keyOf(x);
      expect(x).toBeLessThanOrEqual(h.upperBound(k) * (1 + 1e-12));
      expect(x).toBeGreaterThan(h.upperBound(k - 1) * (1 - 1e-12));
    }
    expect(h.keyOf(0)).toBe(ZERO_KEY);
  });

  it('refuses to merge histograms of different accuracy', () => {
    expect(() => new LogHist(0.02).merge(new LogHist(0.01))).toThrow(/alpha/);
  });
});

describe('CatCounts', () => {
  const stream = Array.from({ length: 5000 }, (_, i) => `cat${(i * 7919) % 300}`);

  it('keeps exact counts for closed vocabularies', () => {
    const c = new CatCounts();
    for (const x of ['a', 'b', 'a', 'c', 'a']) c.add(x);
    expect(c.toJSON()).toEqual({ counts: { a: 3, b: 1, c: 1 }, other: 0, capacity: 64 });
  });

  it('beyond capacity the result does not depend on order or on how the stream was split (bottom-K by hash)', () => {
    const whole = new CatCounts(16);
    for (const x of stream) whole.add(x);
    const reversed = new CatCounts(16);
    for (const x of [...stream].reverse()) reversed.add(x);
    const parts = [0, 1, 2].map(() => new CatCounts(16));
    stream.forEach((x, i) => parts[i % 3]!.add(x));
    const merged = parts[2]!.clone().merge(parts[0]!).merge(parts[1]!);
    expect(reversed.toJSON()).toEqual(whole.toJSON());
    expect(merged.toJSON()).toEqual(whole.toJSON());
    expect(whole.counts.size).toBe(16);
    expect(whole.other + [...whole.counts.values()].reduce((s, v) => s + v, 0)).toBe(stream.length);
  });

  it('round-trips through JSON', () => {
    const c = new CatCounts(16);
    for (const x of stream) c.add(x);
    expect(CatCounts.fromJSON(JSON.parse(JSON.stringify(c.toJSON())) as CatCountsJSON).toJSON()).toEqual(c.toJSON());
  });
});

describe('NgramHist', () => {
  it('counts each 3-gram of the lower-cased prompt and merges exactly', () => {
    const h = new NgramHist();
    h.addText('Hello');
    expect(h.total).toBe(3);
    const same = new NgramHist();
    same.addText('hello');
    expect([...same.counts]).toEqual([...h.counts]);
    const merged = h.clone().merge(same);
    expect(merged.total).toBe(6);
    expect(merged.prompts).toBe(2);
    expect(NgramHist.deserialize(merged.serialize()).counts).toEqual(merged.counts);
  });

  it('puts each 3-gram of the first 1024 lower-cased characters in bucket hashString(gram) mod buckets (the stored format)', () => {
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ minLength: 1, maxLength: 30 }).map((x) => x.repeat(Math.ceil(1100 / x.length))), fc.constantFrom('İİİ ǅ ΣΑΣ', 'ab', ''));
    fc.assert(
      fc.property(text, fc.constantFrom(2, 256, 1024), (t, buckets) => {
        const h = new NgramHist(buckets);
        h.addText(t);
        const expected = new Float64Array(buckets);
        const s = t.slice(0, 1024).toLowerCase();
        for (let i = 0; i + 3 <= s.length; i++) expected[hashString(s.slice(i, i + 3)) & (buckets - 1)]! += 1;
        expect([...h.counts]).toEqual([...expected]);
        expect(h.prompts).toBe(1);
      }),
      { numRuns: 100 },
    );
  }, 30_000);
});

describe('FeatureSketches', () => {
  it('merging per-part sketches equals sketching everything, and survives a JSON round trip', () => {
    const next = trafficSource(7);
    const requests = Array.from({ length: 600 }, next).map((r) => extractFeatures(r.body, r.response));
    const whole = new FeatureSketches();
    requests.forEach((v) => whole.record(v));
    const parts = [new FeatureSketches(), new FeatureSketches()];
    requests.forEach((v, i) => parts[i % 2]!.record(v));
    const merged = FeatureSketches.fromJSON(JSON.parse(JSON.stringify(parts[1]!.toJSON())) as FeatureSketchesJSON).merge(parts[0]!);
    const canonical = (s: FeatureSketches) => {
      const j = s.toJSON();
      return { ...j, numeric: Object.fromEntries(Object.entries(j.numeric).map(([k]) => [k, bucketsOf(s.numeric.get(k as never)!)])) };
    };
    expect(canonical(merged)).toEqual(canonical(whole));
    expect(merged.requests).toBe(600);
  });

  it('does not sketch disabled features', () => {
    const s = new FeatureSketches(new Set(['prompt_ngram', 'temperature']));
    const r = trafficSource(1)();
    s.record(extractFeatures(r.body, r.response));
    expect(s.ngram).toBeUndefined();
    expect(s.categorical.has('temperature')).toBe(false);
    expect(s.categorical.has('max_tokens')).toBe(true);
  });
});
