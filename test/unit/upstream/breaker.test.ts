import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerSettings } from '../../../src/upstream/breaker.ts';

const S: BreakerSettings = { failureThreshold: 3, cooldownMs: 1_000, maxCooldownMs: 8_000 };

/** Three consecutive failures at time t: the breaker is open until t + cooldown. */
function ejectedAt(t: number): CircuitBreaker {
  const b = new CircuitBreaker();
  for (let i = 0; i < 3; i++) b.onOutcome('failure', b.onSend(), t, S);
  return b;
}

describe('circuit breaker: outlier detection from inference outcomes', () => {
  it('ejects after the threshold of consecutive failures; a success in between resets the count', () => {
    const b = new CircuitBreaker();
    b.onOutcome('failure', false, 0, S);
    b.onOutcome('failure', false, 0, S);
    b.onOutcome('success', false, 0, S);
    b.onOutcome('failure', false, 0, S);
    b.onOutcome('failure', false, 0, S);
    expect(b.allows(1)).toBe(true);
    b.onOutcome('failure', false, 2, S);
    expect(b.state).toBe('open');
    expect(b.allows(500)).toBe(false);
  });

  it('neutral outcomes (429, 4xx, client gone) neither count nor reset', () => {
    const b = new CircuitBreaker();
    b.onOutcome('failure', false, 0, S);
    b.onOutcome('failure', false, 0, S);
    b.onOutcome('neutral', false, 0, S);
    expect(b.failures).toBe(2);
    b.onOutcome('failure', false, 0, S);
    expect(b.state).toBe('open');
  });

  it('lets exactly one trial through when the cooldown ends; only its success closes the circuit', () => {
    const b = ejectedAt(0);
    expect(b.allows(999)).toBe(false);
    expect(b.allows(1_000)).toBe(true);
    const trial = b.onSend();
    expect(trial).toBe(true);
    expect(b.allows(1_001)).toBe(false);
    // An answer to a request sent before the ejection does not close it.
    b.onOutcome('success', false, 1_002, S);
    expect(b.state).toBe('half-open');
    expect(b.allows(1_003)).toBe(false);
    b.onOutcome('success', trial, 1_004, S);
    expect(b.state).toBe('closed');
    expect(b.ejections).toBe(0);
    expect(b.allows(1_005)).toBe(true);
  });

  it('a failed trial ejects again for twice as long, capped at maxCooldownMs', () => {
    const b = ejectedAt(0);
    const ends: number[] = [b.openedUntil];
    let t = b.openedUntil;
    for (let i = 0; i < 5; i++) {
      expect(b.allows(t)).toBe(true);
      b.onOutcome('failure', b.onSend(), t, S);
      expect(b.allows(t)).toBe(false);
      ends.push(b.openedUntil - t);
      t = b.openedUntil;
    }
    expect(ends).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  for (const outcome of ['neutral'] as const) {
    it(`a trial that ends without a verdict (${outcome}: client abort, 429, 4xx) hands the trial to the next request`, () => {
      const b = ejectedAt(0);
      expect(b.allows(1_000)).toBe(true);
      const trial = b.onSend();
      expect(b.allows(1_001)).toBe(false);
      b.onOutcome(outcome, trial, 1_002, S);
      expect(b.state).toBe('half-open');
      expect(b.allows(1_003)).toBe(true);
      const next = b.onSend();
      expect(next).toBe(true);
      b.onOutcome('success', next, 1_004, S);
      expect(b.state).toBe('closed');
    });
  }

  it('failures of requests sent before the ejection do not extend it', () => {
    const b = ejectedAt(0);
    b.onOutcome('failure', false, 500, S);
    b.onOutcome('failure', false, 600, S);
    expect(b.openedUntil).toBe(1_000);
    expect(b.ejections).toBe(1);
  });
});

describe('circuit breaker: active health from probes', () => {
  it('probes mark a backend unhealthy after the threshold and healthy again after one good probe', () => {
    const b = new CircuitBreaker();
    b.onProbe(false, 2);
    expect(b.allows(0)).toBe(true);
    b.onProbe(false, 2);
    expect(b.allows(0)).toBe(false);
    b.onProbe(true, 2);
    expect(b.allows(0)).toBe(true);
  });

  it('a good probe never ends an ejection caused by inference (no flapping)', () => {
    const b = ejectedAt(0);
    b.onProbe(true, 3);
    b.setHealthy(true);
    expect(b.state).toBe('open');
    expect(b.allows(10)).toBe(false);
  });

  it('an unhealthy backend gets no trial even when its ejection has ended', () => {
    const b = ejectedAt(0);
    b.setHealthy(false);
    expect(b.allows(5_000)).toBe(false);
    b.setHealthy(true);
    expect(b.allows(5_000)).toBe(true);
  });
});
