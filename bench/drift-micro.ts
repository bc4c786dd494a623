// Micro-benchmark of the drift sketches: update cost per value and serialized size per feature per window.
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/drift-micro.ts
// Medians over RUNS runs; each timed loop is preceded by a warm-up. Speed is measured here, never asserted in tests.
import { CatCounts } from '../src/drift/categorical.ts';
import { FEATURES } from '../src/config/drift-vocabulary.ts';
import { extractFeatures } from '../src/drift/features.ts';
import { LogHist } from '../src/drift/loghist.ts';
import { NgramHist } from '../src/drift/ngram.ts';
import { FeatureSketches } from '../src/drift/sketches.ts';
import { mulberry32, normalSampler } from '../test/unit/drift/helpers.ts';
import { trafficSource, type SyntheticRequest } from '../test/unit/drift/traffic.ts';

const RUNS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** ns per unit of `work()` (which performs `units` units), median over RUNS after one warm-up. */
function nsPer(units: number, work: () => void): number {
  work();
  const samples: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    work();
    samples.push(((performance.now() - t) * 1e6) / units);
  }
  return median(samples);
}

const normal = normalSampler(mulberry32(1));
const VALUES = Float64Array.from({ length: 1_000_000 }, () => Math.exp(6 + 1.2 * normal()));
const LABELS = ['0.0', '0.2', '0.7', '1.0', 'unset', '0.5', '0.9', '1.2'];
const CATS = Array.from({ length: 1_000_000 }, (_, i) => LABELS[(i * 2654435761) % LABELS.length]!);
const next = trafficSource(42);
const REQUESTS: SyntheticRequest[] = Array.from({ length: 20_000 }, next);
const VECTORS = REQUESTS.map((r) => extractFeatures(r.body, r.response));
const PROMPTS = VECTORS.map((v) => v.promptText);
const grams = PROMPTS.reduce((s, p) => s + Math.max(0, Math.min(p.length, 1024) - 2), 0);
const chars = PROMPTS.reduce((s, p) => s + p.length, 0);

const results = {
  numericAdd: nsPer(VALUES.length, () => {
    const h = new LogHist();
    for (let i = 0; i < VALUES.length; i++) h.add(VALUES[i]!); // indexed, as the hot loop it measures
  }),
  categoricalAdd: nsPer(CATS.length, () => {
    const c = new CatCounts();
    for (let i = 0; i < CATS.length; i++) c.add(CATS[i]!);
  }),
  ngramPerGram: nsPer(grams, () => {
    const h = new NgramHist();
    for (const p of PROMPTS) h.addText(p);
  }),
  extractPerRequest: nsPer(REQUESTS.length, () => {
    for (const r of REQUESTS) extractFeatures(r.body, r.response);
  }),
  recordPerRequest: nsPer(VECTORS.length, () => {
    const s = new FeatureSketches();
    for (const v of VECTORS) s.record(v);
  }),
  recordPerRequestNoNgram: nsPer(VECTORS.length, () => {
    const s = new FeatureSketches(new Set(['prompt_ngram']));
    for (const v of VECTORS) s.record(v);
  }),
};

/** Serialized bytes of each feature's sketch for a window of `n` requests (binary; base64 adds 4/3). */
function sizes(n: number): Record<string, number> {
  const src = trafficSource(7 + n);
  const s = new FeatureSketches();
  for (let i = 0; i < n; i++) {
    const r = src();
    s.record(extractFeatures(r.body, r.response));
  }
  const out: Record<string, number> = {};
  for (const f of FEATURES) {
    if (f.kind === 'numeric') out[f.name] = s.numeric.get(f.name)?.serialize().length ?? 0;
    else if (f.kind === 'categorical') out[f.name] = JSON.stringify(s.categorical.get(f.name)?.toJSON() ?? {}).length;
    else out[f.name] = s.ngram?.serialize().length ?? 0;
  }
  out.total_json = JSON.stringify(s.toJSON()).length;
  return out;
}

const windows = { '5m (n=1000)': sizes(1000), '1h (n=12000)': sizes(12_000), '1d (n=100000)': sizes(100_000) };

console.log(`node ${process.version}, ${RUNS} runs, medians; ${REQUESTS.length} synthetic requests, mean prompt ${(chars / PROMPTS.length).toFixed(0)} chars\n`);
console.log('update cost');
console.log(`  numeric LogHist.add            ${results.numericAdd.toFixed(1)} ns/value`);
console.log(`  categorical CatCounts.add      ${results.categoricalAdd.toFixed(1)} ns/value`);
console.log(`  n-gram NgramHist.addText       ${results.ngramPerGram.toFixed(1)} ns/gram (${((results.ngramPerGram * grams) / PROMPTS.length / 1000).toFixed(2)} us/prompt)`);
console.log(`  extractFeatures                ${(results.extractPerRequest / 1000).toFixed(2)} us/request`);
console.log(`  FeatureSketches.record (all)   ${(results.recordPerRequest / 1000).toFixed(2)} us/request`);
console.log(`  ... without the n-gram         ${(results.recordPerRequestNoNgram / 1000).toFixed(2)} us/request (16 features)`);
console.log('\nserialized size per feature per window (bytes; numeric/n-gram binary, categorical JSON)');
const names = Object.keys(windows['5m (n=1000)']);
console.log(`  ${'feature'.padEnd(18)} ${Object.keys(windows).map((w) => w.padStart(14)).join(' ')}`);
for (const name of names) console.log(`  ${name.padEnd(18)} ${Object.values(windows).map((w) => String(w[name]).padStart(14)).join(' ')}`);
