import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../../src/analytics/delivery/coalescer.ts';

describe('Coalescer', () => {
  it('sends what arrives within maxWaitMs as one batch; only the opener waits for it, the others are carried along', async () => {
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 100, maxWaitMs: 20 });
    const opener = c.add([1]);
    const joined = [c.add([2, 3]), c.add([4])];
    expect(opener).toBeInstanceOf(Promise);
    expect(joined).toEqual([undefined, undefined]);
    expect(sent).toEqual([]);
    await opener;
    expect(sent).toEqual([[1, 2, 3, 4]]);
    await c.add([5]);
    expect(sent).toEqual([[1, 2, 3, 4], [5]]);
  });

  it("the request that fills a batch sends it at once and waits for that send; the opener's timer then finds it sent", async () => {
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 3, maxWaitMs: 30 });
    const opener = c.add([1]);
    expect(c.add([2])).toBeUndefined();
    const filler = c.add([3]);
    expect(filler).toBeInstanceOf(Promise);
    await filler;
    expect(sent).toEqual([[1, 2, 3]]);
    const next = c.add([4]); // opens the next batch
    await opener;
    expect(sent).toEqual([[1, 2, 3]]); // the first opener's timer did not send again
    await next;
    expect(sent).toEqual([[1, 2, 3], [4]]);
    expect(c.pending).toBe(0);
  });

  it('a batch whose timer never fired (its request context was torn down) is sent by the next add', async () => {
    let t = 0;
    const sent: number[][] = [];
    const c = new Coalescer<number>(async (items) => void sent.push(items), { maxItems: 100, maxWaitMs: 1_000_000 }, () => t);
    void c.add([1]); // its timer stands for one that died with its request's context
    t = 1_000_001;
    await c.add([2]);
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
