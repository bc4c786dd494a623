import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../src/analytics/delivery/coalescer.ts';

describe('Coalescer', () => {
  it('sends what arrives within maxWaitMs as one batch, and each caller waits for the send that carries its items', async () => {
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 100, maxWaitMs: 20 });
    const waits = [c.add([1]), c.add([2, 3]), c.add([4])];
    expect(sent).toEqual([]);
    await Promise.all(waits);
    expect(sent).toEqual([[1, 2, 3, 4]]);
    await c.add([5]);
    expect(sent).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('gives every caller a promise of its own, never one that another caller settles (Workers: no promise crosses request contexts)', async () => {
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 100, maxWaitMs: 20 });
    const [a, b] = [c.add([1]), c.add([2])];
    expect(a).not.toBe(b);
    await Promise.all([a, b]);
    expect(sent).toEqual([[1, 2]]);
  });

  it('sends a full batch at once and opens the next', async () => {
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 3, maxWaitMs: 60_000 });
    const first = c.add([1, 2, 3]);
    const second = c.add([4]);
    await first;
    expect(sent).toEqual([[1, 2, 3]]);
    expect(c.pending).toBe(1);
    await c.flush();
    await second;
    expect(sent).toEqual([[1, 2, 3], [4]]);
  });

  it('a batch whose timer never fired (its request context was torn down) is sent by the next add', async () => {
    let t = 0;
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 100, maxWaitMs: 1_000_000 }, () => t);
    const stuck = c.add([1]);
    t = 1_000_001;
    await Promise.all([stuck, c.add([2])]);
    expect(sent).toEqual([[1, 2]]);
  });

  it('a failing send does not reject the callers, and the next batch goes out', async () => {
    let fail = true;
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => {
      if (fail) throw new Error('down');
      sent.push(items);
    }, { maxItems: 1, maxWaitMs: 10 });
    const errors: unknown[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a);
    try {
      await expect(c.add([1])).resolves.toBeUndefined();
    } finally {
      console.error = orig;
    }
    expect(errors).toHaveLength(1);
    fail = false;
    await c.add([2]);
    expect(sent).toEqual([[2]]);
  });
});
