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
