import { describe, expect, it } from 'vitest';
import { CounterRate } from '../../../src/upstream/fill-rate.ts';
import { PrefixAffinityPolicy } from '../../../src/routing/policies/prefix-affinity.ts';
import { rendezvousOrder } from '../../../src/routing/policies/rendezvous.ts';
import { PlacementView } from '../../../src/routing/policies/shared-placements.ts';
import type { BackendLoad } from '../../../src/routing/policies/policy.ts';
import { BackendState, BackendStates } from '../../../src/upstream/backend-state.ts';
import { applySnapshot } from '../../../src/upstream/monitor-sync.ts';
import { candidates, chain, input } from '../routing/policies/helpers.ts';

describe('cache fill rate (CounterRate)', () => {
  it('reads a steady rate from the second reading on, however the readings are spaced', () => {
    const r = new CounterRate(300_000);
    expect(r.perSecond()).toBeUndefined();
    r.observe(5_000, 0);
    expect(r.perSecond()).toBeUndefined(); // one reading: no rate yet
    let t = 0;
    for (const dt of [1_000, 250, 4_000, 17, 60_000, 1_000]) {
      t += dt;
      r.observe(5_000 + 0.1 * t, t); // 100 tokens/s
      expect(r.perSecond()).toBeCloseTo(100, 6);
    }
  });

  it('follows a change of rate over its window, and survives an engine restart and out-of-order readings', () => {
    const r = new CounterRate(60_000);
    let v = 0;
    let t = 0;
    const run = (perSecond: number, seconds: number) => {
      for (let s = 0; s < seconds; s++) r.observe((v += perSecond), (t += 1_000));
    };
    run(100, 600);
    run(400, 60); // one window after the change: between the two, nearer the new rate
    expect(r.perSecond()!).toBeGreaterThan(250);
    expect(r.perSecond()!).toBeLessThan(400);
    run(400, 600);
    expect(r.perSecond()).toBeCloseTo(400, 0);
    r.observe(1_000_000, t - 500); // a reading older than the last: ignored
    expect(r.perSecond()).toBeCloseTo(400, 0);
    v = 0; // the engine restarted: its counter starts again from zero
    run(400, 1);
    expect(r.perSecond()).toBeCloseTo(400, 0); // the drop is a restart from zero, not a negative increment
  });

  it('a backend state turns engine reports into a fill rate', () => {
    const s = new BackendState();
    s.reportEngineLoad({ running: 1, uncachedPromptTokens: 1_000 }, 10_000);
    expect(s.load().fillRate).toBeUndefined();
    s.reportEngineLoad({ running: 1, uncachedPromptTokens: 3_000 }, 12_000);
    expect(s.load().fillRate).toBeCloseTo(1_000, 6);
    s.reportEngineLoad({ running: 2 }, 13_000); // an engine without the counters leaves the rate as it was
    expect(s.load().fillRate).toBeCloseTo(1_000, 6);
  });

  it("on Workers, from the backend monitor's snapshots, at the time each reading was taken", () => {
    const states = new BackendStates();
    const snap = (uncached: number, ageMs: number) => ({
      at: 0,
      backends: { 'http://gpu-1': { healthy: true, engine: { running: 3, uncachedPromptTokens: uncached }, engineAgeMs: ageMs } },
    });
    applySnapshot(states, snap(50_000, 400), 10_000); // read at 9,600
    applySnapshot(states, snap(50_000, 900), 10_500); // the same reading, pulled again: ignored
    applySnapshot(states, snap(56_000, 600), 13_600); // read at 13,000: 6,000 tokens in 3.4 s
    expect(states.get('http://gpu-1').load().fillRate).toBeCloseTo(6_000 / 3.4, 6);
  });
});

describe('prefix-affinity: a new conversation goes where the cache fills slowest', () => {
  const key = chain([], 0, 3, 77);
  const order = rendezvousOrder(key[0]!, candidates(4));
  const [first, second] = [order[0]!, order[1]!];
  /** A fresh shared-mode policy's choice for a new conversation, with these engine loads and fill rates. */
  const place = (running: number[], fillRate?: (number | undefined)[]) => {
    const policy = new PrefixAffinityPolicy({ alone: 'no', placements: new PlacementView() });
    const load = (i: number): Partial<BackendLoad> => ({ running: running[i], inflightAtReport: 0, observedAt: 0, fillRate: fillRate?.[i] });
    return policy.select(input(key), candidates(4, load));
  };
  const at = (values: Record<number, number>, rest: number) => [0, 1, 2, 3].map((i) => values[i] ?? rest);

  it('of its key\'s top two, the slower-filling one even if it is a little busier', () => {
    const running = at({ [first]: 2, [second]: 1 }, 1);
    expect(place(running)).toMatchObject({ index: second, reason: 'new' }); // no fill rates: the less loaded
    expect(place(running, at({ [first]: 100, [second]: 500 }, 300))).toMatchObject({ index: first, reason: 'new' });
    expect(place(running, at({ [first]: 500, [second]: 100 }, 300))).toMatchObject({ index: second, reason: 'new' });
  });

  it('never past the new-conversation bound, and only when both report a rate', () => {
    // first is slowest-filling but far over 1.5 x the mean load: the other of the two.
    expect(place(at({ [first]: 5 }, 0), at({ [first]: 10, [second]: 900 }, 500))).toMatchObject({ index: second, reason: 'new' });
    const oneUnknown = at({ [first]: 100 }, 500);
    oneUnknown[second] = undefined as unknown as number;
    expect(place(at({ [first]: 2, [second]: 1 }, 1), oneUnknown)).toMatchObject({ index: second, reason: 'new' }); // by load, as before
  });
});
