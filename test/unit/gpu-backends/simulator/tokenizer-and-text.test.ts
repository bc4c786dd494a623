import { describe, expect, it } from 'vitest';
import { countTokens, promptBlockHashes } from '../../../../gpu-backends/simulator/tokenizer.ts';
import { answerText, planOutput } from '../../../../gpu-backends/simulator/output-text.ts';
import { KvBlockPool } from '../../../../gpu-backends/simulator/kv-cache.ts';

describe('tokenizer', () => {
  it('counts 4 characters per token, rounding up', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('abcd')).toBe(1);
    expect(countTokens('abcde')).toBe(2);
  });

  it('hashes full 16-token blocks only, chained', () => {
    const a = 'x'.repeat(64 * 3 + 10);
    expect(promptBlockHashes(a).blockHashes).toHaveLength(3);
    expect(promptBlockHashes('y'.repeat(60)).blockHashes).toHaveLength(0); // 15 tokens
    expect(promptBlockHashes('y'.repeat(61)).blockHashes).toHaveLength(1); // 16 tokens, the last one short
    const shared = 'S'.repeat(128);
    const h1 = promptBlockHashes(shared + 'a'.repeat(64)).blockHashes;
    const h2 = promptBlockHashes(shared + 'b'.repeat(64)).blockHashes;
    expect(h1.slice(0, 2)).toEqual(h2.slice(0, 2));
    expect(h1[2]).not.toBe(h2[2]);
    // Same block content after different prefixes hashes differently (chaining).
    const h3 = promptBlockHashes('T'.repeat(64) + 'S'.repeat(64)).blockHashes;
    expect(h3[1]).not.toBe(h1[1]);
  });

  it('a seed (cache salt) separates otherwise equal prompts', () => {
    const text = 'z'.repeat(256);
    expect(promptBlockHashes(text, 1).blockHashes[0]).not.toBe(promptBlockHashes(text, 2).blockHashes[0]);
  });
});

describe('kv block pool', () => {
  it('evicts the least recently freed block, tail blocks of a request first', () => {
    const pool = new KvBlockPool(4);
    const held: number[] = [];
    pool.allocate(2, held);
    pool.register(held[0]!, 1);
    pool.register(held[1]!, 2);
    pool.release(held);
    expect(pool.allocate(3, [])).toBe(true); // the 2 never-used blocks first, then 1 eviction
    expect(pool.isCached(2)).toBe(false); // the tail went first
    expect(pool.isCached(1)).toBe(true);
    expect(pool.allocate(2, [])).toBe(false);
  });

  it('a prefix hit takes a block out of the free queue; pinned blocks cannot be evicted', () => {
    const pool = new KvBlockPool(2);
    const a: number[] = [];
    pool.allocate(1, a);
    pool.register(a[0]!, 7);
    pool.release(a);
    expect(pool.matchPrefix([7, 8], 2)).toEqual({ blocks: 1, evictable: 1 });
    const b: number[] = [];
    pool.pinPrefix([7], 1, b);
    expect(b).toEqual(a);
    expect(pool.allocate(2, [])).toBe(false);
    expect(pool.allocate(1, [])).toBe(true);
    expect(pool.isCached(7)).toBe(true);
  });
});

describe('output text', () => {
  it('is exactly 4 characters per token and deterministic', () => {
    for (let n = 1; n < 300; n++) expect(answerText(7, n, n)).toHaveLength(4 * n);
    expect(answerText(1, 2, 50)).toBe(answerText(1, 2, 50));
    expect(answerText(1, 2, 50).startsWith(answerText(1, 2, 10))).toBe(true);
  });

  it('two models agree on the configured share of prompts', () => {
    const a = { seed: 1, agreement: 0.7 };
    const b = { seed: 2, agreement: 0.7 };
    const same = { seed: 1 };
    let agree = 0;
    let replicaAgree = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const prompt = `question number ${i}`;
      const pa = planOutput(prompt, a);
      const pb = planOutput(prompt, b);
      if (pa.text(pa.naturalTokens) === pb.text(pb.naturalTokens)) agree++;
      const ps = planOutput(prompt, same);
      if (planOutput(prompt, { seed: 1 }).text(ps.naturalTokens) === ps.text(ps.naturalTokens)) replicaAgree++;
    }
    expect(agree / n).toBeGreaterThan(0.66);
    expect(agree / n).toBeLessThan(0.74);
    expect(replicaAgree).toBe(n);
  });

  it('natural lengths vary around the configured mean', () => {
    let sum = 0;
    for (let i = 0; i < 1000; i++) sum += planOutput(`p${i}`, { seed: 3, meanTokens: 100 }).naturalTokens;
    expect(sum / 1000).toBeGreaterThan(80);
    expect(sum / 1000).toBeLessThan(120);
  });
});
