// Consistent load shedding for hash-based affinity. Each backend has a shed probability p_b, driven by an
// integral controller on its engine-load trend: while the backend's trend is above trendFactor x the mean
// trend, p_b grows; below, it shrinks. A key is shed from b when u(key, b) < p_b, with u a hash of (key, b):
// the keys shed are always the same ones (those with the smallest u), so a backend that is persistently over
// its share moves a growing, fixed subset of its keys to their next rendezvous choice instead of flapping
// every key at a threshold. Replicas read the same reports, so they compute nearly the same p_b; where they
// differ, only the keys with u between their two estimates are routed differently.
import { combine32, hashString, unitFloat } from '../../util/hash.ts';
import type { Candidate } from './policy.ts';
import { LoadTrend } from './load-trend.ts';

const MAX_SHED = 0.9;

export class LoadShedding {
  private readonly trend: LoadTrend;
  private readonly shed = new Map<string, number>();
  private lastUpdate: number | undefined;

  constructor(
    private readonly trendFactor: number,
    private readonly timeConstantMs: number,
  ) {
    this.trend = new LoadTrend(timeConstantMs);
  }

  /** Folds in new reports and moves every backend's shed probability (called once per routing decision). */
  update(candidates: readonly Candidate[], now: number): void {
    this.trend.observe(candidates);
    const values = this.trend.values(candidates);
    const last = this.lastUpdate;
    this.lastUpdate = now;
    if (!values || last === undefined || now <= last) return;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    // Under one request per backend there is no skew worth a cache miss: let shedding decay.
    const target = this.trendFactor * Math.max(mean, 1);
    const step = Math.min(1, (now - last) / this.timeConstantMs);
    candidates.forEach((c, i) => {
      const p = this.shed.get(c.id) ?? 0;
      const error = values[i]! / target - 1;
      this.shed.set(c.id, Math.min(MAX_SHED, Math.max(0, p + step * error)));
    });
  }

  /** Whether requests with affinity `key` should avoid backend `c` for now. */
  sheds(key: number, c: Candidate): boolean {
    const p = this.shed.get(c.id) ?? 0;
    return p > 0 && unitFloat(combine32(key ^ 0x5bd1e995, hashString(c.id, 0x73686564))) < p;
  }

  probability(id: string): number {
    return this.shed.get(id) ?? 0;
  }
}
