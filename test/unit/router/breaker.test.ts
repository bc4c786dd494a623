import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../src/upstream/breaker.ts';

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures and stays open for the cooldown', () => {
    const b = new CircuitBreaker();
    b.onFailure(0, 3, 1000);
    b.onFailure(1, 3, 1000);
    expect(b.allows(2)).toBe(true);
    b.onFailure(2, 3, 1000);
    expect(b.state).toBe('open');
    expect(b.allows(500)).toBe(false);
  });

  it('lets exactly one trial through when half-open, then closes on success', () => {
    const b = new CircuitBreaker();
    for (let i = 0; i < 3; i++) b.onFailure(0, 3, 1000);
    expect(b.allows(1000)).toBe(true);
    b.onSend();
    expect(b.state).toBe('half-open');
    expect(b.allows(1001)).toBe(false);
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.allows(1002)).toBe(true);
  });

  it('re-opens at once when the half-open trial fails', () => {
    const b = new CircuitBreaker();
    for (let i = 0; i < 3; i++) b.onFailure(0, 3, 1000);
    expect(b.allows(1000)).toBe(true);
    b.onSend();
    b.onFailure(1000, 3, 1000);
    expect(b.state).toBe('open');
    expect(b.allows(1500)).toBe(false);
    expect(b.allows(2000)).toBe(true);
  });
});
