import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CacheAwarePolicy } from '../../../../src/routing/policies/cache-aware.ts';
import { ConsistentHashPolicy } from '../../../../src/routing/policies/consistent-hash.ts';
import { createPolicy, policyNames } from '../../../../src/routing/policies/index.ts';
import { effectiveLoad, loadCap, SendLog } from '../../../../src/routing/policies/load.ts';
import { PrefixAffinityPolicy } from '../../../../src/routing/policies/prefix-affinity.ts';
import { RendezvousPolicy, rendezvousOrder } from '../../../../src/routing/policies/rendezvous.ts';
import type { Candidate } from '../../../../src/routing/policies/policy.ts';
import { candidates, chain, input } from './helpers.ts';

const key = (i: number) => [((i + 1) * 2654435761) >>> 0];

describe('factory', () => {
  it('builds every named policy, maps default, rejects unknown names', () => {
    for (const name of policyNames) expect(createPolicy(name).name).toBe(name);
    expect(createPolicy('default').name).toBe('prefix-affinity');
    expect(() => createPolicy('nope')).toThrow(/unknown routing policy 'nope'.*least-loaded/);
  });
});

describe('random and round-robin', () => {
  it('round-robin rotates evenly and honours weights', () => {
    const p = createPolicy('round-robin');
    const cs = candidates(3);
    expect(Array.from({ length: 6 }, () => p.select(input([]), cs).index)).toEqual([0, 1, 2, 0, 1, 2]);
    const weighted = cs.map((c, i) => ({ ...c, weight: i === 0 ? 2 : 1 }));
    const counts = [0, 0, 0];
    for (let i = 0; i < 400; i++) counts[p.select(input([]), weighted).index]!++;
    expect(counts).toEqual([200, 100, 100]);
  });

  it('random is reproducible per seed and roughly uniform', () => {
    const a = createPolicy('random', { seed: 5 });
    const b = createPolicy('random', { seed: 5 });
    const cs = candidates(4);
    const seqA = Array.from({ length: 50 }, () => a.select(input([]), cs).index);
    expect(Array.from({ length: 50 }, () => b.select(input([]), cs).index)).toEqual(seqA);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[a.select(input([]), cs).index]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  it('least-loaded takes the smallest in-flight count per weight', () => {
    const p = createPolicy('least-loaded');
    expect(p.select(input([]), candidates(3, (i) => ({ inflight: [3, 1, 2][i] }))).index).toBe(1);
  });
});

describe('load', () => {
  it('uses a fresh engine report corrected by own sends since, and ignores a stale one', () => {
    const sends = new SendLog(5000);
    const c: Candidate = { id: 'b0', weight: 1, maxConcurrency: 0, load: { inflight: 1, running: 6, waiting: 2, observedAt: 1000 } };
    expect(effectiveLoad(c, 1500, 5000)).toBe(8);
    sends.record('b0', 900);
    sends.record('b0', 1200);
    sends.record('b0', 1300);
    expect(effectiveLoad(c, 1500, 5000, sends)).toBe(10); // two sends after the report
    expect(effectiveLoad(c, 7000, 5000, sends)).toBe(1); // report too old: own in-flight only
  });

  it('counts the sends at or after a time, whatever order they were recorded in', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 300 }), fc.boolean(), fc.integer({ min: -1, max: 52 }), (times, sorted, since) => {
        const sends = new SendLog(1e9);
        const recorded = sorted ? [...times].sort((a, b) => a - b) : times;
        for (const t of recorded) sends.record('b0', t);
        expect(sends.since('b0', since)).toBe(recorded.filter((t) => t >= since).length);
        expect(sends.since('b1', since)).toBe(0);
      }),
    );
  });

  it('the bounded-load cap admits up to ceil(c * (total + 1) / n)', () => {
    const cs = candidates(4);
    const fits = loadCap([3, 1, 0, 0], cs, 1.25); // total 4: cap ceil(1.25 * 5 / 4) = 2
    expect([0, 1, 2, 3].map(fits)).toEqual([false, true, true, true]);
  });
});

describe('consistent hashing with bounded loads', () => {
  it('never places a request on a backend over the bound, when loads are its own placements', () => {
    const n = 5;
    const c = 1.25;
    const p = new ConsistentHashPolicy({ keyBlocks: 1, loadFactor: c });
    const loads = new Array<number>(n).fill(0);
    // A skewed key stream: a third of requests carry the same key.
    for (let i = 0; i < 2000; i++) {
      const k = i % 3 === 0 ? key(0) : key(i);
      const cs = candidates(n, (j) => ({ inflight: loads[j] }));
      const total = loads.reduce((a, b) => a + b, 0);
      const sel = p.select(input(k), cs);
      loads[sel.index]!++; // select() picks one of the n candidates
      expect(loads[sel.index]).toBeLessThanOrEqual(Math.ceil((c * (total + 1)) / n));
    }
  });

  it('is stable: the same key goes to the same backend while loads allow', () => {
    const p = new ConsistentHashPolicy({ keyBlocks: 1 });
    const cs = candidates(8);
    for (let i = 0; i < 50; i++) expect(p.select(input(key(i)), cs).index).toBe(p.select(input(key(i)), cs).index);
  });
});

describe('rendezvous', () => {
  it('removing a backend moves only the keys it held', () => {
    const p = new RendezvousPolicy({ keyBlocks: 1 });
    const all = candidates(8);
    const without = all.filter((c) => c.id !== 'b3');
    let moved = 0;
    for (let i = 0; i < 3000; i++) {
      const before = all[p.select(input(key(i)), all).index]!.id;
      const after = without[p.select(input(key(i)), without).index]!.id;
      if (before !== 'b3') expect(after).toBe(before);
      else moved++;
    }
    expect(moved).toBeGreaterThan(3000 / 8 / 2);
  });

  it('spreads keys in proportion to weight', () => {
    const cs = candidates(3).map((c, i) => ({ ...c, weight: [1, 2, 1][i]! }));
    const counts = [0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[rendezvousOrder(key(i)[0]!, cs)[0]!]!++;
    expect(counts[1]! / 8000).toBeGreaterThan(0.46);
    expect(counts[1]! / 8000).toBeLessThan(0.54);
  });

  it('with a load factor, an overloaded owner spills to the key’s next choice', () => {
    const p = new RendezvousPolicy({ keyBlocks: 1, loadFactor: 1.25 });
    const cs = candidates(4);
    const order = rendezvousOrder(key(7)[0]!, cs);
    const loaded = candidates(4, (i) => ({ inflight: i === order[0] ? 10 : 1 }));
    const sel = p.select(input(key(7)), loaded);
    expect(sel.index).toBe(order[1]);
    expect(sel.reason).toBe('spill:1');
  });
});

describe('cache-aware (SGLang-style)', () => {
  it('follows the backend that got the prefix before, and sends misses to the least loaded', () => {
    const p = new CacheAwarePolicy();
    const doc = chain([], 0, 20, 1);
    const first = p.select(input(doc), candidates(4, (i) => ({ inflight: i === 2 ? 0 : 3 })));
    expect(first.index).toBe(2);
    expect(first.reason).toBe('cache-miss');
    const next = p.select(input(chain(doc, 20, 5, 2)), candidates(4, (i) => ({ inflight: i === 1 ? 0 : 3 })));
    expect(next.index).toBe(2);
    expect(next.reason).toBe('cache-hit');
    expect(next.matchedBlocks).toBe(20);
  });

  it('goes to the least loaded when imbalanced, whatever the cache', () => {
    const p = new CacheAwarePolicy({ balanceAbsThreshold: 4, balanceRelThreshold: 1.5 });
    const doc = chain([], 0, 10, 3);
    p.select(input(doc), candidates(3));
    const sel = p.select(input(doc), candidates(3, (i) => ({ inflight: [20, 1, 10][i] })));
    expect(sel).toMatchObject({ index: 1, reason: 'imbalanced' });
  });
});

describe('prefix-affinity (default)', () => {
  const system = chain([], 0, 6, 99); // a long system prompt shared by everyone

  it('a prefix shared by all requests does not pin them on one backend', () => {
    const p = new PrefixAffinityPolicy({ indexBlocksPerBackend: 0 });
    const cs = candidates(8);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 2000; i++) counts[p.select(input(chain(system, 6, 4, i), i), cs).index]!++;
    // After a short warm-up the system prompt is hot and each request is keyed on its own continuation.
    expect(Math.max(...counts) / 2000).toBeLessThan(0.2);
    expect(Math.min(...counts) / 2000).toBeGreaterThan(0.07);
  });

  it("a conversation's turns stay on one backend although every replica is a separate instance", () => {
    const replicas = Array.from({ length: 16 }, () => new PrefixAffinityPolicy({ indexBlocksPerBackend: 0 }));
    const cs = candidates(8);
    // Warm every replica up on unrelated traffic that shares the system prompt.
    replicas.forEach((p, r) => {
      for (let i = 0; i < 50; i++) p.select(input(chain(system, 6, 3, 10_000 + r * 100 + i)), cs);
    });
    const conversation = chain(system, 6, 4, 7);
    const turns = [4, 8, 12, 20].map((len, t) => chain(conversation, 6 + len, 0, 0).concat(chain([], 0, 0, t)));
    const chosen = new Set(turns.map((t, i) => replicas[(i * 5) % 16]!.select(input(t), cs).index));
    expect(chosen.size).toBe(1);
  });

  it.each(['no', 'yes'] as const)('identical hot prompts are spread over several backends, least loaded first (alone: %s)', (alone) => {
    const p = new PrefixAffinityPolicy({ alone });
    const loads = new Array<number>(8).fill(0);
    for (let i = 0; i < 400; i++) {
      const sel = p.select(input(system), candidates(8, (j) => ({ inflight: loads[j] })));
      loads[sel.index]!++;
      if (i % 4 === 3) loads[loads.indexOf(Math.max(...loads))]!--; // requests finish
    }
    expect(loads.filter((l) => l > 0).length).toBeGreaterThan(4);
  });

  it('spills an overloaded owner to a fixed next choice, then keeps the conversation where it went', () => {
    const p = new PrefixAffinityPolicy({ indexBlocksPerBackend: 0 });
    const conv = chain([], 0, 3, 5);
    for (let i = 0; i < 100; i++) p.select(input(chain([], 0, 3, 1000 + i)), candidates(8)); // unrelated traffic
    const owner = p.select(input(conv, 0), candidates(8)).index;
    const busy = (observedAt: number) => candidates(8, (i) => (i === owner ? { running: 40, waiting: 10, observedAt } : { running: 1, observedAt }));
    const fresh = p.select(input(conv, 10_000), busy(9_500));
    expect(fresh.index).not.toBe(owner);
    expect(fresh.reason).toMatch(/^spill:/);
    expect(p.select(input(conv, 10_100), busy(9_500)).index).toBe(fresh.index);
    // Once the report is stale (unknown load), the conversation stays where its cache now is.
    expect(p.select(input(conv, 60_000), busy(9_500))).toMatchObject({ index: fresh.index, reason: 'placed' });
    // A new conversation with the same key is not pinned by the stale report either: its hash order applies.
    const q = new PrefixAffinityPolicy({ indexBlocksPerBackend: 0 });
    for (let i = 0; i < 100; i++) q.select(input(chain([], 0, 3, 1000 + i)), candidates(8));
    expect(q.select(input(conv, 60_000), busy(9_500)).index).toBe(owner);
  });
});
