// How much of its recent past the popularity board's PlacementTable keeps (shared-placements.ts): after
// `--keys` distinct keys, the share of the newest N it still finds, and the time per placement recorded. Also
// the heap an isolate's PlacementView takes when full (200,000 keys), when the GC can be asked to run.
//
//   node --expose-gc --import tsx bench/placement-table.ts [--keys 1000000] [--max-slots 524288]
import { PlacementTable, PlacementView } from '../src/routing/policies/shared-placements.ts';
import { num, parseFlags } from '../src/util/args.ts';
import { fmix32 } from '../src/util/hash.ts';

const f = parseFlags(process.argv.slice(2), { keys: { type: 'string', default: '1000000' }, 'max-slots': { type: 'string', default: String(1 << 19) } });
const n = num('keys', f.keys, 1_000_000);
const table = new PlacementTable(num('max-slots', f['max-slots'], 1 << 19));
const keys = Int32Array.from({ length: n }, (_, i) => fmix32(i + 99) | 0);
const t0 = performance.now();
for (let i = 0; i < n; i++) table.setAll([keys[i]!, i & 7]);
const perKeyUs = ((performance.now() - t0) * 1000) / n;
console.log(`| newest keys | found |\n|---|---|`);
for (const last of [50_000, 100_000, 200_000, 300_000, 500_000].filter((x) => x <= n)) {
  console.log(`| ${last.toLocaleString('en-US')} | ${((table.lookup(keys.subarray(n - last)).length / 2 / last) * 100).toFixed(1)}% |`);
}
console.log(`(${n.toLocaleString('en-US')} keys into at most ${table.size.toLocaleString('en-US')} slots; ${perKeyUs.toFixed(2)} us per placement recorded)`);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const view = new PlacementView();
  const pairs = new Int32Array(2 * 200_000);
  for (let i = 0; i < pairs.length; i++) pairs[i] = fmix32(i + 0xbeef) | 0;
  view.apply({ cursor: 1, pairs });
  gc();
  console.log(`PlacementView holding 200,000 keys: ${((process.memoryUsage().heapUsed - before) / 1e6).toFixed(1)} MB of heap (the pairs array itself is off-heap)`);
  if (view.get(pairs[0]!) === undefined) throw new Error('view lost a key');
} else {
  console.log('(run with node --expose-gc --import tsx for the PlacementView heap figure)');
}
