// How popular each prefix is among the requests this router instance has seen recently: exponentially decayed
// counts keyed by chained block hash. Popularity is a frequency, so a replica that sees a random 1/R share of
// the traffic estimates it as well as one that sees everything (just over a longer time).
//
// Every block of every request is counted, not only the blocks down to the current affinity key: popularity
// along a chain only falls, so a deep shared prefix (a 9k-token agent prompt) is known to be hot as soon as its
// first block is, instead of being learnt one block per warm-up.
//
// Storage is a fixed table of heavy hitters (2-way set-associative, open addressing): a block seen once takes
// a free slot or the slot of an entry whose decayed count is below one fresh request, and a popular entry is
// never displaced by one-off blocks. Bounded memory, no allocation and no sorting on the hot path.
//
// Decay without touching every entry: each record adds weight g, and g grows by 2^(1/halfLife) per record, so
// older weights shrink relative to new ones. Everything is rescaled when g gets large.

import { pairSlot, pairTableSize } from './pair-table.ts';

const EMPTY = 0;

export const DEFAULT_POPULARITY_HALF_LIFE = 1024;

/**
 * The default policy shrinks every share by this many hot thresholds' worth of pseudo-requests that lack the
 * prefix (prior = HOT_PRIOR_THRESHOLDS / threshold), so a prefix is hot only when its count c satisfies
 * c / (weight + prior) > threshold, i.e. c > threshold x weight + HOT_PRIOR_THRESHOLDS. A prefix carried by at most
 * this many (decayed) requests is never hot, for any pool size, and a board need not list it.
 */
export const HOT_PRIOR_THRESHOLDS = 2;

/** Where the default policy reads prefix popularity from: this instance's own counts, or a shared view. */
export interface PopularitySource {
  /** Share of recent requests carrying prefix `h`, shrunk by `prior` pseudo-requests without it. */
  share(h: number, prior?: number): number;
  /** Counts one request's chained block hashes. */
  record(hashes: ArrayLike<number>): void;
}

/** Prefixes above a share, as sent from a shared popularity board to router instances. */
export interface HotList {
  hashes: Int32Array;
  shares: Float32Array;
  /** Requests behind the shares (decayed). */
  weight: number;
}

export class PrefixPopularity implements PopularitySource {
  private readonly keys: Int32Array;
  private readonly counts: Float64Array;
  private readonly mask: number;
  private g = 1;
  private total = 0;
  private readonly growth: number;

  /**
   * @param halfLife requests after which a count has half its weight
   * @param slots    table size (rounded up to a power of two); holds the hot blocks with room to spare
   */
  constructor(halfLife: number, slots = 32_768) {
    this.growth = 2 ** (1 / halfLife);
    const size = pairTableSize(slots);
    this.keys = new Int32Array(size);
    this.counts = new Float64Array(size);
    this.mask = size - 2; // even slot of a pair
  }

  /**
   * Estimated share of recent requests that carried prefix `h`, shrunk towards 0 by `prior` pseudo-requests
   * that did not (so a share estimated from few samples is not taken at face value).
   */
  share(h: number, prior = 0): number {
    const k = popularityKey(h);
    const s = this.slot(k);
    const c = this.keys[s] === k ? this.counts[s]! : this.keys[s + 1] === k ? this.counts[s + 1]! : 0;
    return c / (this.total + prior * this.g);
  }

  /** Counts one request carrying the prefixes hashes[0..upTo] (all of them by default). */
  record(hashes: ArrayLike<number>, upTo = hashes.length - 1): void {
    const g = (this.g *= this.growth);
    this.total += g;
    const keys = this.keys;
    const counts = this.counts;
    const last = Math.min(upTo, hashes.length - 1);
    for (let i = 0; i <= last; i++) {
      const k = popularityKey(hashes[i]!);
      const s = this.slot(k);
      if (keys[s] === k) counts[s]! += g;
      else if (keys[s + 1] === k) counts[s + 1]! += g;
      else {
        // Take the emptier slot of the pair if it holds less than one fresh request: a one-off block.
        const victim = counts[s]! <= counts[s + 1]! ? s : s + 1;
        if (keys[victim] === EMPTY || counts[victim]! < g) {
          keys[victim] = k;
          counts[victim] = g;
        }
      }
    }
    if (g > 1e100) this.rescale(1 / g);
  }

  /** Requests counted, decayed (the denominator of every share). */
  get weight(): number {
    return this.total / this.g;
  }

  /**
   * The entries whose share exceeds `minShare` and whose decayed count exceeds `minCount` requests, most popular
   * first, at most `limit` of them.
   */
  hot(minShare: number, limit = 4096, minCount = 0): HotList {
    const cut = Math.max(minShare * this.total, minCount * this.g);
    const found: number[] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.keys[i] !== EMPTY && this.counts[i]! > cut) found.push(i);
    found.sort((a, b) => this.counts[b]! - this.counts[a]!);
    const n = Math.min(limit, found.length);
    const out: HotList = { hashes: new Int32Array(n), shares: new Float32Array(n), weight: this.weight };
    for (let j = 0; j < n; j++) {
      out.hashes[j] = this.keys[found[j]!]!;
      out.shares[j] = this.counts[found[j]!]! / this.total;
    }
    return out;
  }

  private slot(k: number): number {
    return pairSlot(k, this.mask);
  }

  private rescale(f: number): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! *= f;
    this.total *= f;
    this.g *= f;
  }
}

/** Table key of a block hash: its 32 bits, with 0 (the empty marker) moved to 1. */
export function popularityKey(h: number): number {
  return h | 0 || 1;
}
