// How much of its recent past the popularity board's PlacementTable keeps (shared-placements.ts): after
// `--keys` distinct keys, the share of the newest N it still finds, and the time per placement recorded.
//
//   npx tsx bench/placement-table.ts [--keys 1000000] [--max-slots 524288]
import { PlacementTable } from '../src/routing/policies/shared-placements.ts';
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
