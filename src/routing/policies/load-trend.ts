// Slow per-backend load trend from engine reports: an exponentially weighted moving average over a minute or
// two. Every router replica reads the same reports, so every replica derives nearly the same trend. It tells a
// backend that is persistently over its share (a few heavy conversations hashed together) from a burst.
import type { Candidate } from './policy.ts';

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

  /** The trend of each candidate, or undefined until every candidate has reported. */
  values(candidates: readonly Candidate[]): number[] | undefined {
    const out: number[] = [];
    for (const c of candidates) {
      const v = this.avg.get(c.id);
      if (!v) return undefined;
      out.push(v.value / (c.weight > 0 ? c.weight : 1));
    }
    return out;
  }
}
