// Slow per-backend load trend from engine reports: an exponentially weighted moving average over minutes.
// Every router replica reads the same reports, so every replica derives nearly the same trend and hence the
// same rendezvous weights: agreement without coordination. The trend only moves keys off a backend that is
// persistently over its share (a few heavy conversations hashed together), never on a burst.
import type { Candidate } from '../policy.ts';

export class LoadTrend {
  private readonly avg = new Map<string, { value: number; at: number }>();
  constructor(private readonly timeConstantMs: number) {}

  /** Folds in each candidate's report if it is newer than the last one seen. */
  observe(candidates: readonly Candidate[]): void {
    for (const c of candidates) {
      const l = c.load;
      if (l.observedAt === undefined || (l.running === undefined && l.waiting === undefined)) continue;
      const x = (l.running ?? 0) + (l.waiting ?? 0);
      const prev = this.avg.get(c.id);
      if (!prev) this.avg.set(c.id, { value: x, at: l.observedAt });
      else if (l.observedAt > prev.at) {
        const a = 1 - Math.exp(-(l.observedAt - prev.at) / this.timeConstantMs);
        prev.value += a * (x - prev.value);
        prev.at = l.observedAt;
      }
    }
  }

  /**
   * Weight multipliers in [1/maxSkew, maxSkew]: (mean + 1) / (trend + 1), so a backend carrying twice the mean
   * gets about half the keys. The +1 keeps small counts (an idle pool) from producing large swings.
   */
  multipliers(candidates: readonly Candidate[], maxSkew = 2): number[] {
    const values = candidates.map((c) => this.avg.get(c.id)?.value);
    const known = values.filter((v): v is number => v !== undefined);
    if (known.length < candidates.length) return candidates.map(() => 1);
    const mean = known.reduce((a, b) => a + b, 0) / known.length;
    return values.map((v) => Math.min(maxSkew, Math.max(1 / maxSkew, (mean + 1) / (v! + 1))));
  }
}
