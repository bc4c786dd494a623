// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the hottest frames by self time, and by inclusive time
// for frames under the given path filter (default: this repository's src/ and routes/).
//
//   KVB_ROUTER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/kvb-prof" npx tsx bench/overhead/run.ts --targets direct,kvroute-node --runs 1
//   npx tsx bench/overhead/profile-top.ts /tmp/kvb-prof/CPU.*.cpuprofile [--top 30] [--filter /src/] [--skip 10]
// --skip S leaves out the first S seconds of the profile (start-up, the JIT's warm-up).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { num, parseFlags } from '../../src/util/args.ts';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  hitCount?: number;
}

const { values, positionals } = (() => {
  const argv = process.argv.slice(2);
  const files = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'));
  const flags = argv.filter((a) => !files.includes(a));
  return { values: parseFlags(flags, { top: { type: 'string' }, filter: { type: 'string' }, skip: { type: 'string' } }), positionals: files };
})();
const top = num('top', values.top, 30);
const skipUs = num('skip', values.skip, 0) * 1e6;
// Default: this checkout's src/ and routes/, wherever it is.
const filter = values.filter ?? `${path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')}/(src|routes)/`;

for (const file of positionals) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map<number, number>();
  let at = 0;
  let total = 0;
  prof.samples.forEach((s, i) => {
    at += prof.timeDeltas[i] ?? 0;
    if (at < skipUs) return;
    hits.set(s, (hits.get(s) ?? 0) + 1);
    total++;
  });
  const key = (n: Node) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'nm/');
    return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const re = new RegExp(filter);
  for (const [id, h] of hits) {
    const n = byId.get(id)!;
    self.set(key(n), (self.get(key(n)) ?? 0) + h);
    // inclusive: count each distinct frame key once per stack
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + h);
    }
  }
  const idle = [...self.entries()].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
  console.log(`\n${file}: ${total} samples, ${((100 * idle) / total).toFixed(1)}% idle`);
  console.log(`\n-- self time, top ${top} (% of busy samples)`);
  const busy = total - idle;
  for (const [k, v] of [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
  console.log(`\n-- inclusive time of frames matching ${filter}, top ${top}`);
  for (const [k, v] of [...incl.entries()].filter(([k]) => re.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
  }
}
