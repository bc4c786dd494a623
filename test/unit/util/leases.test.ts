import { describe, expect, it } from 'vitest';
import { Lease, Leases } from '../../../src/util/leases.ts';

describe('leases', () => {
  it('a lease renewed within its ttl stays; one left alone is taken back and its owner told', () => {
    const set = new Leases();
    const expired: string[] = [];
    const alive = set.add(new Lease(0, 1_000, () => expired.push('alive')));
    set.add(new Lease(0, 1_000, () => expired.push('dead')));
    alive.renew(900);
    set.expire(1_500);
    expect(set.size).toBe(1);
    expect(expired).toEqual(['dead']);
    expect(set.release(alive)).toBe(true);
    expect(set.release(alive)).toBe(false);
    expect(set.size).toBe(0);
  });

  it('releasing a lease that already expired is a no-op; checks are rate-limited', () => {
    const set = new Leases();
    const l = set.add(new Lease(0, 100));
    set.expire(50);
    set.expire(500); // within the check interval of the last look: not yet
    expect(set.size).toBe(1);
    set.expire(1_100);
    expect(set.size).toBe(0);
    expect(set.release(l)).toBe(false);
  });

  it("an owner's failing cleanup does not stop the others", () => {
    const set = new Leases();
    let told = 0;
    set.add(new Lease(0, 10, () => {
      throw new Error('context gone');
    }));
    set.add(new Lease(0, 10, () => void told++));
    set.expire(2_000);
    expect(set.size).toBe(0);
    expect(told).toBe(1);
  });
});

describe('leases held in any order', () => {
  it('releases and expiries in any order leave exactly the leases still held', () => {
    const set = new Leases();
    const leases = Array.from({ length: 9 }, (_, i) => set.add(new Lease(0, i % 3 === 0 ? 10 : 10_000)));
    // Release from the middle, the end and the start: the others stay held, each exactly once.
    for (const i of [4, 8, 0]) expect(set.release(leases[i]!)).toBe(true);
    expect(new Set(set.values())).toEqual(new Set([1, 2, 3, 5, 6, 7].map((i) => leases[i]!)));
    set.expire(5_000); // takes back 3 and 6 (ttl 10), which were neither first nor last
    const held = [...set.values()];
    expect(new Set(held)).toEqual(new Set([1, 2, 5, 7].map((i) => leases[i]!)));
    expect(held.length).toBe(set.size);
    for (const l of held) expect(set.release(l)).toBe(true);
    expect(set.size).toBe(0);
  });

  it('a lease is not released through a Leases that does not hold it', () => {
    const a = new Leases();
    const b = new Leases();
    b.add(new Lease(0, 100));
    const mine = a.add(new Lease(0, 100));
    expect(b.release(mine)).toBe(false);
    expect(b.size).toBe(1);
    expect(a.size).toBe(1);
    expect(a.release(mine)).toBe(true);
    expect(a.size).toBe(0);
  });
});
