import { describe, it, expect } from 'vitest';
import { estimateShadowTokens, ShadowLimiter } from '../../../../src/experiments/shadow/limiter.ts';

const DAY = 86_400_000;
const limits = { maxConcurrent: 2, dailyTokenBudget: 1000, timeoutMs: 25_000 };

describe('ShadowLimiter', () => {
  it('takes back the slot of a leg that never finished (its context was dropped) after its timeout and a grace', () => {
    const l = new ShadowLimiter();
    expect(l.tryStart('t/e', limits, 0, 10).granted).toBe(true);
    expect(l.tryStart('t/e', limits, 0, 10).granted).toBe(true);
    expect(l.tryStart('t/e', limits, 20_000, 10)).toEqual({ granted: false, reason: 'concurrency' });
    expect(l.tryStart('t/e', limits, 31_000, 10).granted).toBe(true);
  });

  it('caps concurrency per key and frees the slot on finish (idempotently)', () => {
    const l = new ShadowLimiter();
    const a = l.tryStart('t/e', limits, 0, 10);
    const b = l.tryStart('t/e', limits, 0, 10);
    expect(l.tryStart('t/e', limits, 0, 10)).toEqual({ granted: false, reason: 'concurrency' });
    expect(l.tryStart('t/other', limits, 0, 10).granted).toBe(true); // keys are independent
    if (!a.granted || !b.granted) throw new Error('expected permits');
    a.finish(10, 1);
    a.finish(10, 1);
    expect(l.usage('t/e', 1)).toEqual({ inflight: 1, spent: 10, reserved: 10 });
    expect(l.tryStart('t/e', limits, 1, 10).granted).toBe(true);
  });

  it('reserves estimates so concurrent legs cannot overshoot, then settles to actual usage', () => {
    const l = new ShadowLimiter();
    const a = l.tryStart('k', limits, 0, 600);
    expect(l.tryStart('k', limits, 0, 600)).toEqual({ granted: false, reason: 'budget' });
    if (!a.granted) throw new Error();
    a.finish(100, 5);
    expect(l.usage('k', 5)).toEqual({ inflight: 0, spent: 100, reserved: 0 });
    expect(l.tryStart('k', limits, 5, 600).granted).toBe(true);
  });

  it('resets the budget at the UTC day boundary', () => {
    const l = new ShadowLimiter();
    const a = l.tryStart('k', limits, DAY - 10, 0);
    if (!a.granted) throw new Error();
    a.finish(1000, DAY - 5);
    expect(l.tryStart('k', limits, DAY - 1, 1)).toEqual({ granted: false, reason: 'budget' });
    expect(l.tryStart('k', limits, DAY + 1, 1).granted).toBe(true);
  });

  it('a budget of 0 denies every shadow', () => {
    expect(new ShadowLimiter().tryStart('k', { maxConcurrent: 5, dailyTokenBudget: 0, timeoutMs: 1_000 }, 0, 1)).toEqual({ granted: false, reason: 'budget' });
  });

  it('estimates prompt chars / 4 plus the output cap', () => {
    expect(estimateShadowTokens({ max_tokens: 100 }, 400)).toBe(200);
    expect(estimateShadowTokens({ max_completion_tokens: 50, max_tokens: 100 }, 0)).toBe(50);
    expect(estimateShadowTokens({}, 4)).toBe(513);
  });
});
