// Exact category counts with an OTHER bucket, for categorical features.
//
// The built-in features have closed vocabularies (the extractor maps anything unexpected to 'other'), so the
// counts are exact. As a guard against open vocabularies, at most `capacity` categories are tracked: the ones with
// the smallest hash of their name (bottom-K). That rule is order-independent: a category in the bottom-K of the
// union of two sketches is in the bottom-K of each part, so merging in any order keeps the same categories with
// the same exact counts, and OTHER holds everything else. (A frequency-based rule such as SpaceSaving would keep
// more useful categories, but its result depends on arrival order.)
import { hashString } from '../util/hash.ts';

export const DEFAULT_CATEGORY_CAPACITY = 64;

export interface CatCountsJSON {
  counts: Record<string, number>;
  other: number;
  capacity: number;
}

/** Total order on category names used by the bottom-K rule: by hash, then by name for the rare collision. */
function ranksBefore(a: string, ha: number, b: string, hb: number): boolean {
  return ha !== hb ? ha < hb : a < b;
}

export class CatCounts {
  readonly counts = new Map<string, number>();
  /** Observations whose category is not tracked (beyond capacity). */
  other = 0;
  n = 0;
  /** Hash of each tracked category, and the current worst (largest) one, for O(1) admission checks. */
  private readonly hashes = new Map<string, number>();
  private worst: string | undefined;

  constructor(readonly capacity = DEFAULT_CATEGORY_CAPACITY) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
  }

  add(category: string, count = 1): void {
    this.n += count;
    const c = this.counts.get(category);
    if (c !== undefined) {
      this.counts.set(category, c + count);
      return;
    }
    this.admit(category, count);
  }

  private admit(category: string, count: number): void {
    const h = hashString(category);
    if (this.counts.size < this.capacity) {
      this.track(category, h, count);
      return;
    }
    const worst = this.worst!;
    if (!ranksBefore(category, h, worst, this.hashes.get(worst)!)) {
      this.other += count;
      return;
    }
    // The new category outranks the worst tracked one: the worst one's count moves to OTHER.
    this.other += this.counts.get(worst)!;
    this.counts.delete(worst);
    this.hashes.delete(worst);
    this.worst = undefined;
    this.track(category, h, count);
  }

  private track(category: string, h: number, count: number): void {
    this.counts.set(category, count);
    this.hashes.set(category, h);
    if (this.worst === undefined) this.worst = this.findWorst();
    else if (ranksBefore(this.worst, this.hashes.get(this.worst)!, category, h)) this.worst = category;
  }

  private findWorst(): string | undefined {
    let worst: string | undefined;
    for (const [k, h] of this.hashes) if (worst === undefined || ranksBefore(worst, this.hashes.get(worst)!, k, h)) worst = k;
    return worst;
  }

  merge(other: CatCounts): this {
    if (other.capacity !== this.capacity) throw new Error(`cannot merge CatCounts of capacity ${other.capacity} into ${this.capacity}`);
    this.other += other.other;
    this.n += other.other;
    for (const [k, c] of other.counts) this.add(k, c);
    return this;
  }

  clone(): CatCounts {
    return new CatCounts(this.capacity).merge(this);
  }

  count(category: string): number {
    return this.counts.get(category) ?? 0;
  }

  toJSON(): CatCountsJSON {
    const counts: Record<string, number> = {};
    for (const k of [...this.counts.keys()].sort()) counts[k] = this.counts.get(k)!;
    return { counts, other: this.other, capacity: this.capacity };
  }

  static fromJSON(json: CatCountsJSON): CatCounts {
    const c = new CatCounts(json.capacity);
    for (const [k, v] of Object.entries(json.counts)) c.add(k, v);
    c.other += json.other;
    c.n += json.other;
    return c;
  }
}
