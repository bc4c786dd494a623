// How fast a backend writes new KV blocks: its uncached prompt tokens per second, from an engine counter
// (vLLM: prefix_cache_queries_total - prefix_cache_hits_total). With LRU eviction a backend's cache holds what
// it was handed in the last capacity / fillRate seconds, so between backends that are equally loaded, a new
// conversation survives longest between its turns on the one that fills slowest. Load (running requests) does
// not tell that: one long new document fills more cache than a dozen short follow-ups.

/**
 * A counter's rate averaged over an exponential window of timeConstantMs: every interval between two
 * readings is weighted by exp(-age / timeConstant), so the estimate is unbiased from the second reading on and
 * readings may come at any spacing (scrapes, or load piggy-backed on responses). A counter that goes down (the
 * engine restarted) counted from zero, as Prometheus' rate() takes it.
 */
export class CounterRate {
  private last: number | undefined;
  private lastAt = 0;
  /** Decayed sums of counter increments and of elapsed ms. */
  private increments = 0;
  private elapsed = 0;

  constructor(private readonly timeConstantMs = FILL_RATE_WINDOW_MS) {}

  observe(value: number, now: number): void {
    if (!Number.isFinite(value) || (this.last !== undefined && now < this.lastAt)) return; // an older reading
    if (this.last !== undefined && now > this.lastAt) {
      const dt = now - this.lastAt;
      const decay = Math.exp(-dt / this.timeConstantMs);
      this.increments = this.increments * decay + (value >= this.last ? value - this.last : value); // reset: counted from 0
      this.elapsed = this.elapsed * decay + dt;
    }
    this.last = value;
    this.lastAt = now;
  }

  /** Increments per second, or undefined before two readings. */
  perSecond(): number | undefined {
    return this.elapsed > 0 ? (1000 * this.increments) / this.elapsed : undefined;
  }
}

/**
 * Five minutes: much shorter than a loaded cache's horizon (~19 min for 500k tokens at the generated
 * workload's ~436 uncached tokens/s per backend, docs/simulator.md) so it follows shifts in traffic, much longer than a
 * scrape so that one long prompt does not swing it. 1 and 20 minutes measured the same within the lab's
 * resolution (docs/routing.md).
 */
export const FILL_RATE_WINDOW_MS = 300_000;
