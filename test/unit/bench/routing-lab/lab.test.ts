import { describe, expect, it } from 'vitest';
import { promptBlockHashes } from '../../../../gpu-backends/simulator/tokenizer.ts';
import { boundHitRate, pooledHitRate } from '../../../../bench/routing-lab/bounds.ts';
import { engineHashes, engineHashesFromText, labBody, prepareTrace } from '../../../../bench/routing-lab/prepare.ts';
import { runLab } from '../../../../bench/routing-lab/run.ts';
import { BLOCK_CHARS, blockText, promptText } from '../../../../bench/routing-lab/synthetic-text.ts';
import { parseTrace, traceToJsonl, type TraceRecord } from '../../../../bench/routing-lab/trace.ts';
import { prefixHashes } from '../../../../src/routing/prefix-hash.ts';
import { generateWorkload } from '../../../../scripts/gen-workload.ts';

const hash = { blockChars: 512, maxBlocks: 64 };
const rec = (timestamp: number, input_length: number, hash_ids: number[], output_length = 10): TraceRecord => ({ timestamp, input_length, output_length, hash_ids });

describe('synthetic text', () => {
  it('maps each id to one fixed 512-token block; different ids differ; prompts are cut to input_length', () => {
    expect(blockText(42)).toBe(blockText(42));
    expect(blockText(42)).toHaveLength(BLOCK_CHARS);
    expect(blockText(42)).not.toBe(blockText(43));
    const t = promptText([1, 2, 3], 1100);
    expect(t).toHaveLength(1100 * 4);
    expect(t.startsWith(blockText(1) + blockText(2))).toBe(true);
  });

  it('sizes prompts for another tokenizer: each block cut to 512 x charsPerToken characters, equal ids still equal prefixes', () => {
    const t = promptText([1, 2, 3], 1100, Infinity, 1);
    expect(t).toHaveLength(1100);
    expect(t.startsWith(blockText(1).slice(0, 512) + blockText(2).slice(0, 512))).toBe(true);
    const other = promptText([1, 2, 9], 1100, Infinity, 1);
    expect(other.slice(0, 1024)).toBe(t.slice(0, 1024));
    expect(other.slice(1024)).not.toBe(t.slice(1024));
    expect(promptText([1, 2], 700, Infinity, 0.25)).toHaveLength(175);
    expect(promptText([1, 2, 3], 1100, Infinity, 4)).toBe(promptText([1, 2, 3], 1100));
    expect(labBody(rec(0, 600, [1, 7]), 'm', Infinity, 0.5).prompt).toHaveLength(300);
    expect(() => promptText([1], 10, Infinity, 5)).toThrow(/charsPerToken/);
  });
});

describe('prepared trace', () => {
  const records = [rec(0, 1100, [1, 2, 3]), rec(5, 600, [1, 7]), rec(9, 1536, [1, 2, 3])];
  const trace = prepareTrace(records, { hash });

  it('engine hashes equal promptBlockHashes of the whole synthetic prompt (memoised per id)', () => {
    trace.requests.forEach((r, i) => expect(engineHashes(r)).toEqual(engineHashesFromText(records[i]!)));
    expect(engineHashes(trace.requests[0]!)).toEqual(promptBlockHashes(promptText([1, 2, 3], 1100)).blockHashes);
  });

  it('router hashes are the real prefixHashes of the request body', () => {
    trace.requests.forEach((r, i) => {
      expect(Array.from(r.routerHashes)).toEqual(Array.from(prefixHashes(labBody(records[i]!, 'lab-model'), { ...hash, model: 'lab-model' }).hashes));
    });
  });
});

describe('bounds on a tiny handmade trace', () => {
  // Engine blocks are 16 tokens; a request can hit at most floor((tokens - 1) / 16) blocks.
  const records = [
    rec(0, 512, [1]), // nothing seen: 0
    rec(1, 1024, [1, 2]), // block 1 seen: 32 engine blocks = 512 tokens
    rec(2, 512, [1]), // all seen, but the last token is recomputed: 31 blocks = 496 tokens
    rec(3, 1024, [3, 4]), // nothing: 0
    rec(4, 1024, [1, 2]), // all seen: 63 blocks = 1008 tokens
  ];
  const trace = prepareTrace(records, { hash });
  const total = 512 + 1024 + 512 + 1024 + 1024;

  it('unlimited cache: every leading block seen before counts', () => {
    expect(boundHitRate(trace.requests)).toBeCloseTo((512 + 496 + 1008) / total, 10);
  });

  it('pooled LRU: a cache of 64 blocks (1024 tokens) has lost [1, 2] when it returns', () => {
    // After request 4 ([3, 4], 64 blocks) the LRU holds only those: the last request misses entirely.
    expect(pooledHitRate(trace.requests, 1024)).toBeCloseTo((512 + 496) / total, 10);
    // With room for everything the pooled rate equals the unlimited bound.
    expect(pooledHitRate(trace.requests, 1 << 20)).toBeCloseTo(boundHitRate(trace.requests), 10);
  });
});

describe('simulation', () => {
  const records = generateWorkload({ seed: 3, durationS: 120, rate: 2 });

  it('finishes every request; hit rate stays under the bounds; shares sum to 1', () => {
    const trace = prepareTrace(records, { hash });
    for (const policy of ['round-robin', 'cache-aware', 'prefix-affinity']) {
      const r = runLab(trace, { policy, backends: 4, replicas: 2, capacityTokens: 200_000 });
      expect(r.requests).toBe(records.length);
      expect(r.rejected).toBe(0);
      expect(r.hitRate).toBeLessThanOrEqual(r.boundHitRate + 1e-9);
      expect(r.perBackendShare.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(r.ttftP50Ms).toBeGreaterThan(0);
      expect(r.imbalance).toBeGreaterThanOrEqual(1);
    }
  });

  it('models piggy-backed load (each replica learns load from its own responses) as well as a scrape', () => {
    const trace = prepareTrace(records, { hash });
    const r = runLab(trace, { policy: 'prefix-affinity', backends: 4, replicas: 3, capacityTokens: 200_000, loadSignal: 'piggyback' });
    expect(r.requests).toBe(records.length);
    expect(r.hitRate).toBeGreaterThan(0);
  });

  it('charges a board lookup to the request that waits for it, and routes every request exactly once', () => {
    const trace = prepareTrace(records, { hash });
    const ttfts = new Map<number, number>();
    const opts = { policy: 'prefix-affinity', backends: 4, replicas: 8, capacityTokens: 200_000, policyOptions: { lookupMinChars: 0 } };
    const slow = runLab(trace, { ...opts, lookupRttMs: 400 });
    const fast = runLab(trace, { ...opts, lookupRttMs: 0, onFirstToken: (o) => ttfts.set(o.index, o.ttftMs) });
    expect(slow.lookups).toBeGreaterThan(0);
    expect(fast.lookups).toBeGreaterThan(0);
    expect(ttfts.size).toBe(records.length);
    expect(slow.requests).toBe(records.length);
    expect(slow.ttftMeanMs - fast.ttftMeanMs).toBeGreaterThan((400 * slow.lookups) / records.length / 2);
    const off = runLab(trace, { ...opts, popularitySyncMs: 0 });
    expect(off.lookups).toBe(0); // no board, nothing to look up
  });

  it('is deterministic for a seed', () => {
    const trace = prepareTrace(records, { hash });
    const a = runLab(trace, { policy: 'random', backends: 4, replicas: 3, capacityTokens: 200_000, seed: 9 });
    const b = runLab(trace, { policy: 'random', backends: 4, replicas: 3, capacityTokens: 200_000, seed: 9 });
    expect(b.hitRate).toBe(a.hitRate);
    expect(b.ttftP99Ms).toBe(a.ttftP99Ms);
  });
});

describe('generated workload', () => {
  it('is seeded, valid, and a next turn extends the previous turn’s blocks', () => {
    const a = generateWorkload({ seed: 1, durationS: 300, rate: 3 });
    expect(traceToJsonl(generateWorkload({ seed: 1, durationS: 300, rate: 3 }))).toBe(traceToJsonl(a));
    expect(traceToJsonl(generateWorkload({ seed: 2, durationS: 300, rate: 3 }))).not.toBe(traceToJsonl(a));
    expect(parseTrace(traceToJsonl(a))).toHaveLength(a.length);
    // Some request's ids (all but its last, partial block) are a prefix of a later request's ids.
    const extended = a.some((r, i) => a.slice(i + 1).some((s) => s.input_length > r.input_length && r.hash_ids.slice(0, -1).every((id, k) => s.hash_ids[k] === id) && r.hash_ids.length > 2));
    expect(extended).toBe(true);
  });
});
