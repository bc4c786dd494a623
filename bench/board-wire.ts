// The popularity board's answer on the wire, as a new isolate gets it (cursor 0: the whole placement log) and as
// a busy isolate gets it every sync: the binary form (encodeBoardAnswer / decodeBoardAnswer) against the JSON
// form it replaced (a reference copy below), side by side in one process, median of rounds. Also what the
// isolate then spends installing the answer into its view (the same for both forms). Last, a young board's hot
// list (400 requests of one-off blocks seen) with and without the count cut of PopularityBoard.hotList.
//
//   npx tsx bench/board-wire.ts [--rounds 9] [--pairs 65536,2048] [--hot 300]
import { type BoardAnswer, newSharedViews, applyBoardAnswer } from '../src/routing/popularity-board.ts';
import { decodeBoardAnswer, encodeBoardAnswer } from '../src/workers/popularity-wire.ts';
import { HOT_PRIOR_THRESHOLDS, PrefixPopularity } from '../src/routing/policies/prefix-popularity.ts';
import { DEFAULT_MIN_SHARE } from '../src/routing/policies/shared-popularity.ts';
import { num, parseFlags } from '../src/util/args.ts';
import { fmix32 } from '../src/util/hash.ts';
import { median } from './overhead/stats.ts';

const f = parseFlags(process.argv.slice(2), {
  rounds: { type: 'string', default: '9' },
  pairs: { type: 'string', default: '65536,2048' },
  hot: { type: 'string', default: '300' },
});
const rounds = num('rounds', f.rounds, 9);
const hotEntries = num('hot', f.hot, 300);

/** The JSON form as it was (popularity-exchange.ts before the binary answer), for reference. */
const jsonWire = {
  encode: (a: BoardAnswer) =>
    JSON.stringify({ weight: a.hot.weight, hashes: Array.from(a.hot.hashes), shares: Array.from(a.hot.shares), cursor: a.placements.cursor, pairs: Array.from(a.placements.pairs) }),
  decode: (text: string): BoardAnswer => {
    const o = JSON.parse(text) as { weight: number; hashes: number[]; shares: number[]; cursor: number; pairs: number[] };
    return { hot: { weight: o.weight, hashes: Int32Array.from(o.hashes), shares: Float32Array.from(o.shares) }, placements: { cursor: o.cursor, pairs: Int32Array.from(o.pairs) } };
  },
};

function answer(pairs: number): BoardAnswer {
  const p = new Int32Array(2 * pairs);
  for (let i = 0; i < p.length; i++) p[i] = fmix32(i + 1) | 0;
  const hashes = new Int32Array(hotEntries);
  const shares = new Float32Array(hotEntries);
  for (let i = 0; i < hotEntries; i++) {
    hashes[i] = fmix32(i + 0x5bd1e995) | 0;
    shares[i] = 0.5 / (i + 1);
  }
  return { hot: { weight: 1477.3, hashes, shares }, placements: { cursor: 1_000_000 + pairs, pairs: p } };
}

const time = (fn: () => void) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};

console.log(`| placement pairs | form | bytes | encode (board) ms | decode (isolate) ms | install into the view ms |`);
console.log('|---|---|---|---|---|---|');
for (const pairs of f.pairs.split(',').map((p) => num('pairs', p, 65_536))) {
  const a = answer(pairs);
  const samples = { json: { enc: [] as number[], dec: [] as number[] }, binary: { enc: [] as number[], dec: [] as number[] }, install: [] as number[] };
  const bytes = { json: 0, binary: 0 };
  for (let r = 0; r < rounds; r++) {
    // Alternate the order each round, so neither form always runs on a warmer heap.
    const forms = r % 2 ? (['binary', 'json'] as const) : (['json', 'binary'] as const);
    for (const form of forms) {
      if (form === 'json') {
        let text = '';
        samples.json.enc.push(time(() => (text = jsonWire.encode(a))));
        samples.json.dec.push(time(() => jsonWire.decode(text)));
        bytes.json = Buffer.byteLength(text);
      } else {
        let buf = new ArrayBuffer(0);
        samples.binary.enc.push(time(() => (buf = encodeBoardAnswer(a))));
        samples.binary.dec.push(time(() => decodeBoardAnswer(buf)));
        bytes.binary = buf.byteLength;
      }
    }
    const views = newSharedViews(1024);
    samples.install.push(time(() => applyBoardAnswer(views, a)));
  }
  const m = (x: number[]) => median(x).toFixed(2);
  console.log(`| ${pairs} | JSON | ${bytes.json.toLocaleString('en-US')} | ${m(samples.json.enc)} | ${m(samples.json.dec)} | ${m(samples.install)} |`);
  console.log(`| ${pairs} | binary | ${bytes.binary.toLocaleString('en-US')} | ${m(samples.binary.enc)} | ${m(samples.binary.dec)} | same |`);
}
console.log(`(${hotEntries} hot entries; median of ${rounds} rounds)`);

// A young board: 400 new conversations of 16 blocks each, every block seen once (0.25% of what it has seen).
const young = new PrefixPopularity(1024);
for (let r = 0; r < 400; r++) young.record(Int32Array.from({ length: 16 }, (_, i) => fmix32(r * 16 + i + 0x1234) | 0));
console.log(`\n| young board's hot list | entries | JSON bytes | binary bytes | list + encode ms (binary) |\n|---|---|---|---|---|`);
for (const [label, minCount] of [['every entry above 0.1% (before)', 0], [`only counts > ${HOT_PRIOR_THRESHOLDS} (now)`, HOT_PRIOR_THRESHOLDS]] as const) {
  const ms: number[] = [];
  let a: BoardAnswer | undefined;
  for (let r = 0; r < rounds; r++) {
    ms.push(time(() => encodeBoardAnswer((a = { hot: young.hot(DEFAULT_MIN_SHARE, 4096, minCount), placements: { cursor: 0, pairs: new Int32Array(0) } }))));
  }
  console.log(`| ${label} | ${a!.hot.hashes.length} | ${Buffer.byteLength(jsonWire.encode(a!)).toLocaleString('en-US')} | ${encodeBoardAnswer(a!).byteLength.toLocaleString('en-US')} | ${median(ms).toFixed(2)} |`);
}
