import { describe, expect, it } from 'vitest';
import { countTokens, promptBlockHashes } from '../../../gpu-backends/simulator/tokenizer.ts';
import { answerText, planOutput } from '../../../gpu-backends/simulator/output-text.ts';
import { KvBlockPool } from '../../../gpu-backends/simulator/kv-cache.ts';

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
  it('evicts the least recently used unreferenced block, tail blocks of a request first', () => {
    const pool = new KvBlockPool(4);
    pool.allocate(2);
    pool.register(1);
    pool.register(2);
    pool.release([1, 2], 0);
    expect(pool.allocate(3)).toBe(true); // 2 never-used blocks + 1 eviction
    expect(pool.isCached(2)).toBe(false); // the tail went first
    expect(pool.isCached(1)).toBe(true);
    expect(pool.allocate(2)).toBe(false);
  });

  it('pinned blocks cannot be evicted', () => {
    const pool = new KvBlockPool(2);
    pool.allocate(1);
    pool.register(7);
    expect(pool.allocate(2)).toBe(false);
    expect(pool.allocate(1)).toBe(true);
  });
});

describe('output text', () => {
  it('is exactly 4 characters per token and deterministic', () => {
    expect(answerText(1, 2, 50)).toHaveLength(200);
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
