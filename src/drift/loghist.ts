// A deterministic, sparse log-bucket histogram for non-negative numeric features (DDSketch's index mapping,
// Masson et al., VLDB 2019, without collapsing).
//
// Bucket k holds the values in (gamma^(k-1), gamma^k] with gamma = (1 + alpha) / (1 - alpha). Values <= 0 go to a
// separate zero bucket. Error bound: any quantile read back (as the bucket's representative 2*gamma^k/(gamma+1))
// is within relative error alpha of the true value, and any rank/CDF evaluated at a bucket boundary is exact.
// PSI bins are unions of whole buckets, so PSI from this sketch equals the PSI of the raw values on the snapped
// edges: the sketch adds no error to PSI, it only moves each baseline decile edge by at most alpha (relative).
//
// Merge adds counts: exact, associative and commutative, so isolates can flush partial sketches in any order.
import { ByteReader, ByteWriter } from './varint.ts';

export const DEFAULT_ALPHA = 0.02;
/** Sort key of the zero bucket: below every log key (log keys are clamped to +-MAX_KEY). */
export const ZERO_KEY = -(2 ** 31);
const MAX_KEY = 2 ** 20;
const FORMAT_VERSION = 1;

export class LogHist {
  readonly alpha: number;
  readonly gamma: number;
  private readonly invLnGamma: number;
  /** Count of values <= 0. */
  zero = 0;
  /** Sparse bucket counts by key. */
  readonly counts = new Map<number, number>();
  n = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(alpha = DEFAULT_ALPHA) {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
    this.alpha = alpha;
    this.gamma = (1 + alpha) / (1 - alpha);
    this.invLnGamma = 1 / Math.log(this.gamma);
  }

  /** Bucket key of a value: ZERO_KEY for x <= 0, else ceil(log_gamma x). */
  keyOf(x: number): number {
    if (x <= 0) return ZERO_KEY;
    const k = Math.ceil(Math.log(x) * this.invLnGamma);
    return k > MAX_KEY ? MAX_KEY : k < -MAX_KEY ? -MAX_KEY : k;
  }

  /** Inclusive upper edge of bucket `key` (0 for the zero bucket). */
  upperBound(key: number): number {
    return key === ZERO_KEY ? 0 : Math.pow(this.gamma, key);
  }

  /** Value reported for a bucket: within relative error alpha of every value in it. */
  representative(key: number): number {
    return key === ZERO_KEY ? 0 : (2 * Math.pow(this.gamma, key)) / (this.gamma + 1);
  }

  /** Adds `count` observations of x. NaN is ignored (a missing feature is not a value). */
  add(x: number, count = 1): void {
    if (x !== x) return;
    if (x <= 0) this.zero += count;
    else {
      const k = this.keyOf(x);
      this.counts.set(k, (this.counts.get(k) ?? 0) + count);
    }
    this.n += count;
    this.sum += x * count;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Adds another histogram's counts into this one (exact). Both must use the same alpha. */
  merge(other: LogHist): this {
    if (other.alpha !== this.alpha) throw new Error(`cannot merge LogHist with alpha ${other.alpha} into alpha ${this.alpha}`);
    this.zero += other.zero;
    for (const [k, c] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    this.n += other.n;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  clone(): LogHist {
    return new LogHist(this.alpha).merge(this);
  }

  /** (key, count) pairs in ascending key order, the zero bucket first. */
  sortedBuckets(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.zero > 0) out.push([ZERO_KEY, this.zero]);
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    for (const k of keys) out.push([k, this.counts.get(k)!]);
    return out;
  }

  /** Value at quantile q in [0, 1], within relative error alpha (NaN when empty). */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (const [k, c] of this.sortedBuckets()) {
      seen += c;
      if (seen >= rank) return this.representative(k);
    }
    return this.representative(this.sortedBuckets().at(-1)![0]);
  }

  /**
   * Bytes: version, alpha in ppm, zero count, bucket count, keys as zig-zag deltas, counts, then sum/min/max as
   * float64 (min/max are only present when n > 0).
   */
  serialize(): Uint8Array {
    const w = new ByteWriter();
    w.uvarint(FORMAT_VERSION);
    w.uvarint(Math.round(this.alpha * 1e6));
    w.uvarint(this.zero);
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    w.uvarint(keys.length);
    let prev = 0;
    for (const k of keys) {
      w.svarint(k - prev);
      prev = k;
    }
    for (const k of keys) w.uvarint(this.counts.get(k)!);
    w.float64(this.sum);
    if (this.n > 0) {
      w.float64(this.min);
      w.float64(this.max);
    }
    return w.bytes();
  }

  static deserialize(bytes: Uint8Array): LogHist {
    const r = new ByteReader(bytes);
    const version = r.uvarint();
    if (version !== FORMAT_VERSION) throw new Error(`unknown LogHist format version ${version}`);
    const h = new LogHist(r.uvarint() / 1e6);
    h.zero = r.uvarint();
    const size = r.uvarint();
    const keys: number[] = [];
    let prev = 0;
    for (let i = 0; i < size; i++) keys.push((prev += r.svarint()));
    let n = h.zero;
    for (const k of keys) {
      const c = r.uvarint();
      h.counts.set(k, c);
      n += c;
    }
    h.n = n;
    h.sum = r.float64();
    if (n > 0) {
      h.min = r.float64();
      h.max = r.float64();
    }
    return h;
  }
}
