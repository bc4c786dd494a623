// The sketches of one (tenant, model, arm, window): one per feature. Mergeable as a whole, serialisable to JSON
// (numeric and n-gram sketches as base64 bytes) for flushing from isolates and for storage.
import { CatCounts, DEFAULT_CATEGORY_CAPACITY, type CatCountsJSON } from './categorical.ts';
import { CATEGORICAL_FEATURES, NUMERIC_FEATURES, type CategoricalFeature, type FeatureVector, type NumericFeature } from './features.ts';
import { DEFAULT_ALPHA, LogHist } from './loghist.ts';
import { DEFAULT_NGRAM_BUCKETS, NgramHist } from './ngram.ts';
import { fromBase64, toBase64 } from './varint.ts';

// Sketch parameters are fixed constants rather than tenant settings: sketches recorded under different parameters
// could not be merged into the same window or compared with an existing baseline.
const NO_FEATURES_DISABLED: ReadonlySet<string> = new Set();

export interface FeatureSketchesJSON {
  requests: number;
  numeric: Record<string, string>;
  categorical: Record<string, CatCountsJSON>;
  ngram?: string;
}

export class FeatureSketches {
  /** Requests recorded (each feature has its own n: a feature that was not observed is not counted). */
  requests = 0;
  readonly numeric = new Map<NumericFeature, LogHist>();
  readonly categorical = new Map<CategoricalFeature, CatCounts>();
  ngram: NgramHist | undefined;

  /** `disabled`: features not sketched (switched off in the tenant config). */
  constructor(private readonly disabled: ReadonlySet<string> = NO_FEATURES_DISABLED) {}

  private hist(name: NumericFeature): LogHist {
    let h = this.numeric.get(name);
    if (!h) this.numeric.set(name, (h = new LogHist(DEFAULT_ALPHA)));
    return h;
  }

  private cat(name: CategoricalFeature): CatCounts {
    let c = this.categorical.get(name);
    if (!c) this.categorical.set(name, (c = new CatCounts(DEFAULT_CATEGORY_CAPACITY)));
    return c;
  }

  record(v: FeatureVector): void {
    const disabled = this.disabled;
    this.requests += 1;
    for (const name of NUMERIC_FEATURES) {
      const x = v.numeric[name];
      if (x !== undefined && !disabled.has(name)) this.hist(name).add(x);
    }
    for (const name of CATEGORICAL_FEATURES) {
      const c = v.categorical[name];
      if (c !== undefined && !disabled.has(name)) this.cat(name).add(c);
    }
    if (!disabled.has('prompt_ngram')) {
      this.ngram ??= new NgramHist(DEFAULT_NGRAM_BUCKETS);
      this.ngram.addText(v.promptText);
    }
  }

  merge(other: FeatureSketches): this {
    this.requests += other.requests;
    for (const [name, h] of other.numeric) this.hist(name).merge(h);
    for (const [name, c] of other.categorical) this.cat(name).merge(c);
    if (other.ngram) (this.ngram ??= new NgramHist(other.ngram.buckets)).merge(other.ngram);
    return this;
  }

  clone(): FeatureSketches {
    return new FeatureSketches(this.disabled).merge(this);
  }

  toJSON(): FeatureSketchesJSON {
    const numeric: Record<string, string> = {};
    const categorical: Record<string, CatCountsJSON> = {};
    for (const [name, h] of this.numeric) numeric[name] = toBase64(h.serialize());
    for (const [name, c] of this.categorical) categorical[name] = c.toJSON();
    return { requests: this.requests, numeric, categorical, ...(this.ngram ? { ngram: toBase64(this.ngram.serialize()) } : {}) };
  }

  static fromJSON(json: FeatureSketchesJSON): FeatureSketches {
    const s = new FeatureSketches();
    s.requests = json.requests;
    for (const [name, b64] of Object.entries(json.numeric)) s.numeric.set(name as NumericFeature, LogHist.deserialize(fromBase64(b64)));
    for (const [name, c] of Object.entries(json.categorical)) s.categorical.set(name as CategoricalFeature, CatCounts.fromJSON(c));
    if (json.ngram) s.ngram = NgramHist.deserialize(fromBase64(json.ngram));
    return s;
  }
}
