// Hashed character 3-gram histogram of the prompt: a cheap, model-free text-drift signal ("hashing trick").
// The first `maxChars` characters are lower-cased and every 3-gram is hashed into one of `buckets` bins. It catches
// a new language or script, code vs prose, and template changes; it does not capture meaning.
import { fmix32, FNV_OFFSET, FNV_PRIME } from '../util/hash.ts';
import { ByteReader, ByteWriter } from './varint.ts';

export const DEFAULT_NGRAM_BUCKETS = 256;
export const DEFAULT_NGRAM_MAX_CHARS = 1024;
const GRAM = 3;
const FORMAT_VERSION = 1;

export class NgramHist {
  /** Float64 so that merged day-long windows never overflow (exact integers up to 2^53). */
  readonly counts: Float64Array;
  /** Number of prompts added: the sample size used for the small-sample guard (grams of one prompt are not independent). */
  prompts = 0;
  private readonly mask: number;

  constructor(readonly buckets = DEFAULT_NGRAM_BUCKETS) {
    if (!(buckets >= 2 && (buckets & (buckets - 1)) === 0)) throw new RangeError(`buckets must be a power of two >= 2, got ${buckets}`);
    this.counts = new Float64Array(buckets);
    this.mask = buckets - 1;
  }

  /** Adds one prompt's 3-grams. Prompts shorter than 3 characters add no grams but still count as a prompt. */
  addText(text: string, maxChars = DEFAULT_NGRAM_MAX_CHARS): void {
    this.prompts += 1;
    const s = (text.length > maxChars ? text.slice(0, maxChars) : text).toLowerCase();
    // Each gram's bucket is hashString(gram) & mask (the stored format), with the three steps of its FNV-1a loop
    // written out: this runs for every character of every request's prompt.
    const counts = this.counts;
    const mask = this.mask;
    let a = s.charCodeAt(0);
    let b = s.charCodeAt(1);
    for (let i = GRAM - 1; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const h = Math.imul(Math.imul(Math.imul(FNV_OFFSET ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ c, FNV_PRIME);
      counts[fmix32(h) & mask]! += 1; // mask < length
      a = b;
      b = c;
    }
  }

  /** Total grams. */
  get total(): number {
    let t = 0;
    for (const c of this.counts) t += c;
    return t;
  }

  merge(other: NgramHist): this {
    if (other.buckets !== this.buckets) throw new Error(`cannot merge NgramHist of ${other.buckets} buckets into ${this.buckets}`);
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!; // same bucket count, checked above
    this.prompts += other.prompts;
    return this;
  }

  clone(): NgramHist {
    return new NgramHist(this.buckets).merge(this);
  }

  /** Bytes: version, log2(buckets), prompts, then one varint count per bucket (dense; most buckets are non-empty). */
  serialize(): Uint8Array {
    const w = new ByteWriter();
    w.uvarint(FORMAT_VERSION);
    w.uvarint(Math.log2(this.buckets));
    w.uvarint(this.prompts);
    for (const c of this.counts) w.uvarint(c);
    return w.bytes();
  }

  static deserialize(bytes: Uint8Array): NgramHist {
    const r = new ByteReader(bytes);
    const version = r.uvarint();
    if (version !== FORMAT_VERSION) throw new Error(`unknown NgramHist format version ${version}`);
    const h = new NgramHist(2 ** r.uvarint());
    h.prompts = r.uvarint();
    for (let i = 0; i < h.buckets; i++) h.counts[i] = r.uvarint();
    return h;
  }
}
