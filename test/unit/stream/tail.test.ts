import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamTail } from '../../../src/stream/tail.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('StreamTail', () => {
  it('keeps the end of a stream: at least keepBytes of it, and no more than one chunk beyond', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 300 }), { maxLength: 200 }), fc.integer({ min: 1, max: 4000 }), (parts, keep) => {
        const tail = new StreamTail(keep);
        for (const p of parts) tail.push(bytes(p));
        const all = parts.join('');
        const text = tail.text();
        expect(all.endsWith(text)).toBe(true);
        expect(text.length).toBeGreaterThanOrEqual(Math.min(all.length, keep));
        expect(text.length).toBeLessThan(keep + Math.max(1, ...parts.map((p) => p.length)));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a character split across two chunks', () => {
    const tail = new StreamTail(1024);
    const euro = bytes('price: 5€ and ✓');
    const cut = 9; // inside the three bytes of €
    tail.push(euro.slice(0, cut));
    tail.push(euro.slice(cut));
    expect(tail.text()).toBe('price: 5€ and ✓');
  });

  it('is empty before any chunk and refuses to keep nothing', () => {
    expect(new StreamTail(10).text()).toBe('');
    expect(() => new StreamTail(0)).toThrow(RangeError);
  });
});
