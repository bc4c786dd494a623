// How popular each prefix is among the requests this router instance has seen recently: exponentially decayed
// counts keyed by chained block hash. Popularity is a frequency, so a replica that sees a random 1/R share of
// the traffic estimates it as well as one that sees everything (just over a longer time): this is the part of
// routing state that needs no sharing between edge isolates.
//
// Decay without touching every entry: each record adds weight g, and g grows by 2^(1/halfLife) per record, so
// older weights shrink relative to new ones. Everything is rescaled when g gets large.

export class PrefixPopularity {
  private readonly counts = new Map<number, number>();
  private g = 1;
  private total = 0;
  private readonly growth: number;

  /**
   * @param halfLife  requests after which a count has half its weight
   * @param maxEntries entries kept; beyond that the least popular are dropped
   */
  constructor(
    halfLife: number,
    private readonly maxEntries = 8192,
  ) {
    this.growth = 2 ** (1 / halfLife);
  }

  /**
   * Estimated share of recent requests that carried prefix `h`, shrunk towards 0 by `prior` pseudo-requests
   * that did not (so a share estimated from few samples is not taken at face value).
   */
  share(h: number, prior = 0): number {
    const c = this.counts.get(h);
    return c === undefined ? 0 : c / (this.total + prior * this.g);
  }

  /** Counts one request carrying the prefixes hashes[0..depth]. */
  record(hashes: ArrayLike<number>, depth: number): void {
    this.g *= this.growth;
    this.total += this.g;
    for (let i = 0; i <= depth && i < hashes.length; i++) {
      const h = hashes[i]!;
      this.counts.set(h, (this.counts.get(h) ?? 0) + this.g);
    }
    if (this.g > 1e100) this.rescale(1 / this.g);
    if (this.counts.size > this.maxEntries) this.prune();
  }

  private rescale(f: number): void {
    for (const [h, c] of this.counts) this.counts.set(h, c * f);
    this.total *= f;
    this.g *= f;
  }

  /** Keeps the more popular half. */
  private prune(): void {
    const values = [...this.counts.values()].sort((a, b) => b - a);
    const cut = values[this.maxEntries >> 1]!;
    for (const [h, c] of this.counts) if (c <= cut) this.counts.delete(h);
  }
}
