// What the default policy's board lookup costs inside the real Workers runtime: the Worker in the local Workers runtime (spawnLocalWorker)
// (workerd, with the PopularityBoard Durable Object local to it), a simulated vLLM pool, and two tenants that
// differ only in whether a long new conversation waits for a lookup first (`lookupAfterMs` 0: every time; the
// other `lookupMinChars` out of reach: never). Requests alternate between the two, so both see the same machine
// at the same moment. Every request starts a new conversation with a long, unique prompt, the case a lookup is
// for. Read per request: the wait the router reports (`lookup=` in x-kvroute-decision, also Server-Timing) and
// the router's whole overhead (x-kvroute-overhead-ms).
//
// This is the lookup's cost without the network: on Cloudflare the Durable Object usually runs in another data
// centre, and the round trip to it comes on top (the lab charges 30 ms, bounded at 50 by lookupTimeoutMs).
//
//   npx tsx bench/board-lookup.ts [--requests 200] [--runs 3] [--concurrency 1,8] [--out bench/results/board-lookup.json]
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimPool } from '../gpu-backends/simulator/pool.ts';
import { DEMO_MODEL, demoConfig, putTenant, waitForHealth } from '../bin/commands/demo.ts';
import { spawnLocalWorker } from '../bin/commands/local-worker.ts';
import { num, parseFlags } from '../src/util/args.ts';
import { freePortRange } from '../src/util/ports.ts';
import { median, percentile } from './overhead/stats.ts';

const f = parseFlags(process.argv.slice(2), {
  requests: { type: 'string', default: '200' },
  runs: { type: 'string', default: '3' },
  concurrency: { type: 'string', default: '1,8' },
  out: { type: 'string', default: 'bench/results/board-lookup.json' },
});
const requests = num('requests', f.requests, 200);
const runs = num('runs', f.runs, 3);
const concurrencies = f.concurrency.split(',').map((c) => num('concurrency', c, 1));
const ADMIN_TOKEN = 'bench-admin-token';
const TENANTS = {
  // Many isolates (never alone); every long new conversation waits for one lookup.
  on: { alone: 'no', lookupAfterMs: 0 },
  // The same, but no prompt is long enough to be worth one.
  off: { alone: 'no', lookupMinChars: 1_000_000_000 },
} as const;
type Arm = keyof typeof TENANTS;

interface Sample {
  lookupMs: number | undefined;
  overheadMs: number;
}

/** The demo pool's tenant, without health probes, with this arm's lookup settings. */
function seedTenant(url: string, arm: Arm, backendUrls: string[]): Promise<string> {
  const config = { ...demoConfig(backendUrls), health: { probeIntervalMs: 0 }, affinity: { policy: 'prefix-affinity', options: TENANTS[arm] } };
  return putTenant(url, ADMIN_TOKEN, `bench-${arm}`, config);
}

let serial = 0;
/** A new conversation: a unique first line, then ~8k characters of document (well past lookupMinChars' 4,096). */
function newConversation(): object {
  const doc = `Case ${++serial} of run ${process.pid}.\n` + 'The supplier delivers the goods within 30 days; payment is due within 60 days of delivery. '.repeat(90);
  return { model: DEMO_MODEL, max_tokens: 1, messages: [{ role: 'system', content: doc }, { role: 'user', content: 'Summarise the terms.' }] };
}

async function send(url: string, key: string): Promise<Sample> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(newConversation()),
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`request failed: ${r.status}`);
  const lookup = /(?:^|;)lookup=([\d.]+)/.exec(r.headers.get('x-kvroute-decision') ?? '');
  return { lookupMs: lookup ? Number(lookup[1]) : undefined, overheadMs: Number(r.headers.get('x-kvroute-overhead-ms')) };
}

/** `count` requests per arm, alternating on / off, `concurrency` in flight. */
async function phase(url: string, keys: Record<Arm, string>, count: number, concurrency: number): Promise<Record<Arm, Sample[]>> {
  const out: Record<Arm, Sample[]> = { on: [], off: [] };
  let next = 0;
  const worker = async () => {
    while (next < 2 * count) {
      const arm: Arm = next++ % 2 === 0 ? 'on' : 'off';
      out[arm].push(await send(url, keys[arm]));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

interface Row {
  run: number;
  concurrency: number;
  requests: number;
  lookups: number;
  lookupP50Ms: number;
  lookupP90Ms: number;
  lookupP99Ms: number;
  lookupMaxMs: number;
  overheadP50OnMs: number;
  overheadP50OffMs: number;
  overheadP90OnMs: number;
  overheadP90OffMs: number;
}

async function oneRun(run: number): Promise<Row[]> {
  const pool = await startSimPool({ backends: 4, basePort: 0, model: DEMO_MODEL });
  const state = mkdtempSync(path.join(tmpdir(), 'kvroute-board-lookup-'));
  const worker = spawnLocalWorker({ port: await freePortRange(1), adminToken: ADMIN_TOKEN, persistTo: state, output: 'ignore' });
  try {
    await waitForHealth(worker.url, 90_000, worker.alive);
    const keys = { on: await seedTenant(worker.url, 'on', pool.urls), off: await seedTenant(worker.url, 'off', pool.urls) };
    await phase(worker.url, keys, 10, 1); // warm-up: config load, board objects created
    const rows: Row[] = [];
    for (const c of concurrencies) {
      const s = await phase(worker.url, keys, requests, c);
      const waits = s.on.flatMap((x) => (x.lookupMs === undefined ? [] : [x.lookupMs]));
      if (s.off.some((x) => x.lookupMs !== undefined)) throw new Error('the lookup-off tenant looked up');
      const ov = (arm: Arm, p: number) => percentile(s[arm].map((x) => x.overheadMs), p);
      rows.push({
        run, concurrency: c, requests, lookups: waits.length,
        lookupP50Ms: percentile(waits, 50), lookupP90Ms: percentile(waits, 90), lookupP99Ms: percentile(waits, 99), lookupMaxMs: Math.max(...waits),
        overheadP50OnMs: ov('on', 50), overheadP50OffMs: ov('off', 50), overheadP90OnMs: ov('on', 90), overheadP90OffMs: ov('off', 90),
      });
      process.stderr.write(`run ${run}, concurrency ${c}: ${waits.length} lookups, p50 ${percentile(waits, 50).toFixed(2)} ms\n`);
    }
    return rows;
  } finally {
    await worker.stop();
    await pool.close();
    rmSync(state, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (let r = 1; r <= runs; r++) rows.push(...(await oneRun(r)));
writeFileSync(f.out, JSON.stringify({ command: `npx tsx bench/board-lookup.ts ${process.argv.slice(2).join(' ')}`.trim(), rows }, null, 2) + '\n');

const fmt = (x: number) => x.toFixed(2);
console.log(`| concurrency | lookups / requests | lookup wait p50 / p90 / p99 / max (ms) | router overhead p50 with / without lookups (ms) | p90 with / without |`);
console.log('|---|---|---|---|---|');
for (const c of concurrencies) {
  const rs = rows.filter((r) => r.concurrency === c);
  const m = (k: keyof Row) => fmt(median(rs.map((r) => r[k])));
  console.log(`| ${c} | ${median(rs.map((r) => r.lookups))} / ${requests} | ${m('lookupP50Ms')} / ${m('lookupP90Ms')} / ${m('lookupP99Ms')} / ${m('lookupMaxMs')} | ${m('overheadP50OnMs')} / ${m('overheadP50OffMs')} | ${m('overheadP90OnMs')} / ${m('overheadP90OffMs')} |`);
}
console.log(`(medians over ${runs} runs; every run in bench/results; local Workers runtime, local Durable Object, no network)`);
