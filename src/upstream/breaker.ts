// Passive health: a circuit breaker per backend. Consecutive failures open it for a cooldown; then one request
// (or an active probe) is let through half-open; its outcome closes or re-opens the circuit.

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  state: BreakerState = 'closed';
  failures = 0;
  openedUntil = 0;
  private probeInFlight = false;

  /** May a request be sent now? In half-open, only one trial at a time. */
  allows(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now < this.openedUntil) return false;
      this.state = 'half-open';
      this.probeInFlight = false;
    }
    return !this.probeInFlight;
  }

  /** Marks that a request was let through (claims the half-open trial). */
  onSend(): void {
    if (this.state === 'half-open') this.probeInFlight = true;
  }

  onSuccess(): void {
    this.state = 'closed';
    this.failures = 0;
    this.probeInFlight = false;
  }

  onFailure(now: number, threshold: number, cooldownMs: number): void {
    this.failures++;
    this.probeInFlight = false;
    if (this.state === 'half-open' || this.failures >= threshold) {
      this.state = 'open';
      this.openedUntil = now + cooldownMs;
    }
  }
}
