// llama-server's slot selection: longest common prefix above the similarity threshold, else least recently used;
// a FIFO of deferred requests when every slot is busy.
import { describe, expect, it } from 'vitest';
import { commonPrefixLength, SlotPool, type SlotView } from '../../../../gpu-backends/llama-engine/slot-pool.ts';

class FakeSlot implements SlotView {
  constructor(
    readonly id: number,
    public tokens: number[] = [],
  ) {}
  cachedTokens() {
    return this.tokens;
  }
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('SlotPool', () => {
  it('gives the free slot with the longest common prefix', async () => {
    const slots = [new FakeSlot(0, range(0, 10)), new FakeSlot(1, range(0, 40)), new FakeSlot(2, range(100, 50))];
    const pool = new SlotPool(slots);
    expect((await pool.acquire(range(0, 60))).id).toBe(1);
    // Slot 1 is busy now: the next best prefix is slot 0's.
    expect((await pool.acquire(range(0, 60))).id).toBe(0);
  });

  it('takes the least recently used free slot when no prefix covers more than the similarity share', async () => {
    const slots = [new FakeSlot(0, [1, 2]), new FakeSlot(1, [7]), new FakeSlot(2, [9])];
    const pool = new SlotPool(slots, 0.1);
    const order: number[] = [];
    for (const p of [[50], [51], [52]]) {
      const s = await pool.acquire(p);
      order.push(s.id);
      pool.release(s);
    }
    expect(order).toEqual([0, 1, 2]);
    // Slot 2 shares 1 of 20 tokens (5%), under the 10% threshold: the least recently used slot (0) wins.
    slots[0]!.tokens = [9];
    slots[2]!.tokens = [1, ...range(500, 5)];
    const s = await pool.acquire([1, ...range(200, 19)]);
    expect(s.id).toBe(0);
  });

  it('queues requests first come first served while every slot is busy, counting them as deferred', async () => {
    const slots = [new FakeSlot(0), new FakeSlot(1)];
    const pool = new SlotPool(slots);
    const a = await pool.acquire([1]);
    const b = await pool.acquire([2]);
    expect(pool.processing).toBe(2);
    const served: string[] = [];
    const c = pool.acquire([3]).then((s) => (served.push('c'), s));
    const d = pool.acquire([4]).then((s) => (served.push('d'), s));
    expect(pool.deferred).toBe(2);
    pool.release(b);
    const sc = await c;
    expect(sc.id).toBe(1);
    expect(pool.deferred).toBe(1);
    pool.release(a);
    expect((await d).id).toBe(0);
    expect(served).toEqual(['c', 'd']);
    expect(pool.deferred).toBe(0);
  });

  it('drops a waiting request whose client went away', async () => {
    const pool = new SlotPool([new FakeSlot(0)]);
    const held = await pool.acquire([1]);
    const abort = new AbortController();
    const waiting = pool.acquire([2], abort.signal);
    const next = pool.acquire([3]);
    abort.abort();
    await expect(waiting).rejects.toThrow(/cancelled/);
    expect(pool.deferred).toBe(1);
    pool.release(held);
    expect((await next).id).toBe(0);
  });

  it('counts a common prefix', () => {
    expect(commonPrefixLength([1, 2, 3], [1, 2, 4, 5])).toBe(2);
    expect(commonPrefixLength([], [1])).toBe(0);
    expect(commonPrefixLength([1, 2], [1, 2])).toBe(2);
  });
});
