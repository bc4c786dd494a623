// Micro-benchmark of one routing decision (policy.prepare, if any, then policy.select) per request, on the generated workload's real
// prefix hashes, 8 backends with fresh engine reports (and cache fill rates). Compares the working tree with another checkout of
// kvroute side by side in one process (interleaved rounds, median of the rounds), so a hot-path change is
// measured before and after on the same noisy machine.
//
//   git worktree add /tmp/kv-base <ref> && npx tsx bench/policy-micro.ts --base /tmp/kv-base [--policies prefix-affinity,cache-aware]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prepareTrace } from './routing-lab/prepare.ts';
import { parseTrace } from './routing-lab/trace.ts';
import type { Candidate, RoutingPolicy } from '../src/routing/policies/policy.ts';
import { parseFlags } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), {
  base: { type: 'string' },
  policies: { type: 'string', default: 'prefix-affinity,prefix-affinity+receipts,prefix-affinity+board,cache-aware,rendezvous' },
  requests: { type: 'string', default: '4000' },
  rounds: { type: 'string', default: '9' },
});
type Create = (name: string, o?: object, runtime?: object) => RoutingPolicy;
/**
 * A checkout's createPolicy. 'prefix-affinity' is the default as a single Node router runs it (alone);
 * 'prefix-affinity+receipts' the same, also told each response's cache receipt (after the response, off the
 * client's path, timed with the rest); 'prefix-affinity+board' as an edge isolate runs it: shared placements and a
 * board lookup whose view is always stale (the worst case for prepare(); the lookup itself resolves at once, so only
 * the router's own work is timed).
 */
const load = async (root: string): Promise<Create> => {
  // Modules of another checkout, imported by path: typed here as this checkout declares them.
  const { createPolicy: create } = (await import(pathToFileURL(resolve(root, 'src/routing/policies/index.ts')).href)) as { createPolicy: Create };
  const { PlacementView } = (await import(pathToFileURL(resolve(root, 'src/routing/policies/shared-placements.ts')).href)) as { PlacementView: new () => object };
  return (name, o) =>
    name === 'prefix-affinity+board'
      ? create('prefix-affinity', { ...o, alone: 'no' }, { placements: new PlacementView(), lookup: { ageMs: () => Infinity, refresh: () => Promise.resolve() } })
      : name.startsWith('prefix-affinity')
        ? create('prefix-affinity', { ...o, alone: 'yes' })
        : create(name, o);
};

const trace = prepareTrace(parseTrace(readFileSync('bench/workloads/generated.jsonl', 'utf8'), Number(f.requests)), { hash: { blockChars: 512, maxBlocks: 128 } });
const cands = (t: number): Candidate[] =>
  Array.from({ length: 8 }, (_, i) => ({
    id: `b${i}`, weight: 1, maxConcurrency: 0,
    load: { inflight: 3 + (i % 3), awaitingFirstByte: i % 2, running: 12 + i, waiting: i % 4, kvUsage: 0.5, observedAt: t - 200, inflightAtReport: 3, fillRate: 300 + 40 * ((i * 5) % 8) },
  }));

/** Microseconds per select over the whole request list, fresh policy instance. */
function once(create: Create, name: string): number {
  const p = create(name, {});
  const receipts = name.endsWith('+receipts');
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (const r of trace.requests) {
    const input = { prefixHashes: r.routerHashes, promptChars: r.promptChars, blockChars: 512, model: trace.model, now: r.arrivalMs };
    if (p.prepare?.(input, 8)) sink++; // as forward() asks before deciding
    const sel = p.select(input, cands(r.arrivalMs));
    sink += sel.index;
    // A receipt that confirms what the policy believed (the common case).
    if (receipts) p.onReceipt?.(input, `b${sel.index}`, { promptTokens: r.promptChars / 4, cachedTokens: ((sel.matchedBlocks ?? 0) * 512) / 4 });
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000 / trace.requests.length;
  return sink < 0 ? -1 : us;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const current = await load('.');
const base = f.base ? await load(f.base) : undefined;
console.log(`| policy | this tree (us/request) | ${f.base ? `base ${f.base} (us/request) | ratio |` : ''}`);
console.log(`|---|---|${f.base ? '---|---|' : ''}`);
for (const name of f.policies.split(',')) {
  const a: number[] = [];
  const b: number[] = [];
  once(current, name); // warm up the JIT
  if (base) once(base, name);
  for (let k = 0; k < Number(f.rounds); k++) {
    a.push(once(current, name));
    if (base) b.push(once(base, name));
  }
  const ma = median(a);
  console.log(`| ${name} | ${ma.toFixed(2)} |${base ? ` ${median(b).toFixed(2)} | ${(ma / median(b)).toFixed(2)} |` : ''}`);
}
