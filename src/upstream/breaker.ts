// Backend health as two independent signals, after Envoy's outlier detection and active health checking:
//  * Outlier detection (passive): consecutive inference failures (connect errors, timeouts, 5xx answers, streams
//    that break after the first byte) eject the backend for a cooldown that doubles with each consecutive
//    ejection. When it ends, exactly one trial request is let through (half-open); only a trial that completes
//    an inference brings the backend back. A trial that ends without a verdict (the client went away, a 429, a
//    4xx) hands the trial to the next request instead of leaving the backend excluded.
//  * Active health (probes of the engine's health path): consecutive failed probes mark the backend unhealthy; one
//    good probe marks it healthy. A good probe never ends an ejection that inference caused: a fine /health says
//    nothing about whether inference works, and letting it close the circuit made the breaker flap.

export type BreakerState = 'closed' | 'open' | 'half-open';

/** How an inference attempt ended, as far as the backend's health is concerned. */
export type Outcome = 'success' | 'failure' | 'neutral';

export interface BreakerSettings {
  failureThreshold: number;
  /** First ejection's length; each consecutive ejection doubles it, up to maxCooldownMs. */
  cooldownMs: number;
  maxCooldownMs: number;
}

export class CircuitBreaker {
  /** Outlier-detection state. */
  state: BreakerState = 'closed';
  /** Consecutive inference failures. */
  failures = 0;
  /** Consecutive ejections (reset when a trial succeeds). */
  ejections = 0;
  openedUntil = 0;
  /** Active-health verdict (probes, or the fleet monitor's probes on Workers). */
  healthy = true;
  probeFailures = 0;
  private trialInFlight = false;

  /** May a request be sent now? While half-open, only while no trial is out. */
  allows(now: number): boolean {
    if (!this.healthy) return false;
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now < this.openedUntil) return false;
      this.state = 'half-open';
      this.trialInFlight = false;
    }
    return !this.trialInFlight;
  }

  /** Marks that a request was let through; true when it is the half-open trial (its outcome decides). */
  onSend(): boolean {
    if (this.state !== 'half-open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Reports how an attempt ended. `trial` is what onSend returned for it. */
  onOutcome(outcome: Outcome, trial: boolean, now: number, s: BreakerSettings): void {
    if (trial) {
      this.trialInFlight = false;
      if (outcome === 'success') this.close();
      else if (outcome === 'failure') this.eject(now, s);
      return;
    }
    // Answers to requests sent before an ejection say nothing about the backend's state after it.
    if (this.state !== 'closed') return;
    if (outcome === 'success') this.failures = 0;
    else if (outcome === 'failure' && ++this.failures >= s.failureThreshold) this.eject(now, s);
  }

  /** Active probe result. */
  onProbe(ok: boolean, failureThreshold: number): void {
    if (ok) {
      this.probeFailures = 0;
      this.healthy = true;
    } else if (++this.probeFailures >= failureThreshold) this.healthy = false;
  }

  /** Takes another prober's verdict as is (isolates on Workers follow the fleet's BackendMonitor). */
  setHealthy(ok: boolean): void {
    this.healthy = ok;
    if (ok) this.probeFailures = 0;
  }

  /** Open or half-open by inference, or unhealthy by probes: not taking normal traffic. */
  get excluded(): boolean {
    return this.state !== 'closed' || !this.healthy;
  }

  private eject(now: number, s: BreakerSettings): void {
    this.ejections++;
    const ms = Math.min(s.cooldownMs * 2 ** Math.min(this.ejections - 1, 20), Math.max(s.cooldownMs, s.maxCooldownMs));
    this.state = 'open';
    this.openedUntil = now + ms;
    this.failures = 0;
    this.trialInFlight = false;
  }

  private close(): void {
    this.state = 'closed';
    this.failures = 0;
    this.ejections = 0;
  }
}
