// Summary statistics of a lab run.

/** The p-quantile (0..1) of `values` by nearest rank; NaN when empty. Sorts a copy. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

/**
 * Integrates per-backend request counts over time. `imbalance` is max/mean of the time-averaged counts (one
 * backend carrying more than its share over the run); `instantImbalance` is the time average of the
 * instantaneous max/mean (also counts short-lived bunching, and is above 1 even for a perfect split of a
 * small number of requests).
 */
export class LoadIntegrator {
  private readonly counts: number[];
  private readonly area: number[];
  private last = 0;
  private instantArea = 0;
  private busyTime = 0;

  constructor(n: number, start = 0) {
    this.counts = new Array<number>(n).fill(0);
    this.area = new Array<number>(n).fill(0);
    this.last = start;
  }

  advance(t: number): void {
    const dt = t - this.last;
    if (dt <= 0) return;
    let sum = 0;
    let max = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      this.area[i]! += c * dt;
      sum += c;
      if (c > max) max = c;
    }
    if (sum > 0) {
      this.instantArea += (max / (sum / this.counts.length)) * dt;
      this.busyTime += dt;
    }
    this.last = t;
  }

  add(i: number, delta: number, t: number): void {
    this.advance(t);
    this.counts[i]! += delta;
  }

  get imbalance(): number {
    const mean = this.area.reduce((a, b) => a + b, 0) / this.area.length;
    return mean > 0 ? Math.max(...this.area) / mean : 1;
  }

  get instantImbalance(): number {
    return this.busyTime > 0 ? this.instantArea / this.busyTime : 1;
  }
}
