// Does shadow traffic slow the primary? The primary's p50 and p99 latency with shadow at 100 % against shadow
// off, in one run: the difference should be within the run-to-run noise.
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/shadow/run.ts [--runs 5] [--duration 10]
//       [--rate 30] [--max-tokens 32] [--time-scale 20] [--wait-quiet 600]
// Real processes on loopback: a simulated vLLM primary pool (2 backends) and a separate shadow pool (1 backend),
// both `kvroute sim`; the Node router in its own process with SQLite analytics (pairs really written); an
// open-loop client here. One tenant, one experiment (two arms on the primary pool) with shadow.sampleRate
// switched between 0 and 1 through the admin API. Each run is four blocks, off/on/off/on (runs alternate with
// on/off/on/off, so a slow drift of the machine does not favour one condition); the two off blocks of a run
// give the noise. Writes bench/results/shadow.json and bench/results/shadow.md.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { openSqlite } from '../../src/analytics/sinks/sqlite.ts';
import { num, parseFlags } from '../../src/util/args.ts';
import { canConnect, freePort, groupTicks, killAll, killAllSync, start, stop, waitReady, type Started } from '../overhead/procs.ts';
import { runBlock, type Sample } from './load.ts';
import { cpuTable, markdownTable, metricsOf, summarize, type Block, type Condition } from './summary.ts';

const flags = parseFlags(process.argv.slice(2), {
  runs: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  'max-tokens': { type: 'string' },
  'time-scale': { type: 'string' },
  'wait-quiet': { type: 'string' },
  settle: { type: 'string' },
  'shadow-nice': { type: 'string' },
  out: { type: 'string' },
});
const opt = {
  runs: num('runs', flags.runs, 5),
  durationS: num('duration', flags.duration, 10),
  rate: num('rate', flags.rate, 30),
  maxTokens: num('max-tokens', flags['max-tokens'], 32),
  timeScale: num('time-scale', flags['time-scale'], 20),
  waitQuietS: num('wait-quiet', flags['wait-quiet'], 600),
  settleS: num('settle', flags.settle, 1),
  /** Nice for the shadow simulator only: in production the shadow pool is other GPUs, not this CPU. */
  shadowNice: num('shadow-nice', flags['shadow-nice'], 0),
  /** Results go to bench/results/<out>.json and .md. */
  out: flags.out ?? 'shadow',
};
const command = `npx tsx bench/shadow/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const root = path.resolve(import.meta.dirname, '../..');
const MODEL = 'llama-3.1-8b';
const KEY = 'sk-bench-shadow-0123456789';
const ADMIN = 'bench-admin-token-0123456789';
const TENANT = 'bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

process.on('SIGINT', () => void killAll().finally(() => process.exit(130)));
process.on('exit', () => killAllSync());

/** Other benchmarks (not this one) running now, as `pid command` lines. */
function otherBenchmarks(): string[] {
  try {
    const out = execFileSync('pgrep', ['-af', 'bench/(overhead|routing-lab|sim-calibration|drift-micro|prefix-hash-micro|shadow/run)'], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l && !l.startsWith(`${process.pid} `) && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function waitForQuiet(maxS: number): Promise<string[]> {
  const deadline = Date.now() + maxS * 1000;
  for (;;) {
    // Our own npx/tsx wrappers match too; they are ancestors of this process.
    const others = otherBenchmarks().filter((l) => !isAncestor(Number(l.split(' ')[0])));
    if (others.length === 0 || Date.now() >= deadline) return others;
    console.error(`[bench] waiting for other benchmarks to finish (load ${os.loadavg()[0]!.toFixed(2)}):\n  ${others.join('\n  ')}`);
    await sleep(15_000);
  }
}

function isAncestor(pid: number): boolean {
  let p = process.ppid;
  for (let i = 0; i < 10 && p > 1; i++) {
    if (p === pid) return true;
    try {
      p = Number(fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

/** Lowers one child's priority, autogroup included (every child is its own session; see procs.ts setNice). */
function renice(pid: number, nice: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    /* no autogroup */
  }
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) os.setPriority(Number(tid), nice);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port with n free ports after it (checked by binding, as the simulator will). */
async function freeRange(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let free = true;
    for (let i = 0; i < n && free; i++) free = await portFree(base + i);
    if (free) return base;
  }
  throw new Error('no free port range');
}

function tenantConfig(primary: string[], shadow: string[], sampleRate: number) {
  return {
    models: { [MODEL]: { pool: 'primary' } },
    pools: {
      primary: { backends: primary.map((url, i) => ({ id: `p${i}`, url })) },
      shadow: { backends: shadow.map((url, i) => ({ id: `s${i}`, url })) },
    },
    health: { probeIntervalMs: 0 },
    experiments: [
      {
        name: 'bench-ab',
        model: MODEL,
        arms: [
          { name: 'control', weight: 50, pool: 'primary' },
          { name: 'candidate', weight: 50, pool: 'primary' },
        ],
        // Caps far above what 100 % of this load needs, so every sampled request really gets its shadow leg.
        shadow: { pool: 'shadow', sampleRate, maxConcurrent: 256, dailyTokenBudget: 1_000_000_000, timeoutMs: 10_000 },
      },
    ],
  };
}

async function main(): Promise<void> {
  const others = await waitForQuiet(opt.waitQuietS);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvroute-bench-shadow-'));
  const bin = path.join(root, 'bin/kvroute.mjs');
  // KVROUTE_LOCAL_DEV: the simulators are on loopback, which only local development accepts (docs/security.md).
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', KVROUTE_LOCAL_DEV: '1' };
  const procs: Record<string, Started> = {};
  const sim = async (name: string, n: number, seed: number, nice = 0) => {
    const base = await freeRange(n);
    const s = (procs[name] = start(name, process.execPath, [bin, 'sim', '--backends', String(n), '--base-port', String(base), '--time-scale', String(opt.timeScale), '--seed', String(seed)], { cwd: root, env, logDir: tmp }));
    if (nice !== 0 && s.proc.pid !== undefined) renice(s.proc.pid, nice);
    const urls = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${base + i}`);
    await waitReady(name, s, async () => (await Promise.all(urls.map((_, i) => canConnect(base + i)))).every(Boolean));
    return urls;
  };
  const primary = await sim('sim-primary', 2, 0);
  const shadow = await sim('sim-shadow', 1, 1, opt.shadowNice);
  const port = await freePort();
  const routerDir = path.join(tmp, 'router');
  fs.mkdirSync(routerDir);
  const router = (procs.router = start('router', process.execPath, ['--import', 'tsx', path.join(root, 'bench/shadow/router.ts'), '--port', String(port), '--dir', routerDir, '--key', KEY, '--admin-token', ADMIN, '--tenant', TENANT], { cwd: root, env, logDir: tmp }));
  await waitReady('router', router, () => canConnect(port));
  const origin = `http://127.0.0.1:${port}`;

  const setShadow = async (c: Condition) => {
    const res = await fetch(`${origin}/admin/tenants/${TENANT}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(tenantConfig(primary, shadow, c === 'on' ? 1 : 0)),
    });
    if (!res.ok) throw new Error(`PUT tenant config: HTTP ${res.status} ${await res.text()}`);
  };

  const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  let offset = 0;
  const block = async (c: Condition, durationMs: number) => {
    await setShadow(c);
    await sleep(opt.settleS * 1000); // shadow legs of the previous block finish; not measured
    const ticks0 = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, groupTicks(p.proc)]));
    const r = await runBlock({ pool, headers, model: MODEL, rate: opt.rate, durationMs, maxTokens: opt.maxTokens, offset });
    // CPU per request of each process (clock ticks of 10 ms): where the extra work of shadowing goes.
    const cpuMsPerRequest = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, ((groupTicks(p.proc) - ticks0[k]!) * 10) / Math.max(1, r.samples.length)]));
    offset += 100_000;
    return { ...r, cpuMsPerRequest };
  };

  const loadStart = os.loadavg();
  console.error(`[bench] warm-up (off, on: 3 s each), then ${opt.runs} runs x 4 blocks of ${opt.durationS} s at ${opt.rate} req/s`);
  for (const c of ['off', 'on'] as const) {
    const w = await block(c, 3000);
    if (w.samples.length === 0) throw new Error(`warm-up failed: ${w.errorSample}`);
  }

  const blocks: Block[] = [];
  const pooledSamples: Record<Condition, Sample[]> = { off: [], on: [] };
  const started = Date.now();
  for (let run = 1; run <= opt.runs; run++) {
    const order: Condition[] = run % 2 === 1 ? ['off', 'on', 'off', 'on'] : ['on', 'off', 'on', 'off'];
    for (const [index, c] of order.entries()) {
      const r = await block(c, opt.durationS * 1000);
      pooledSamples[c].push(...r.samples);
      const b: Block = { run, index, condition: c, requests: r.samples.length, errors: r.errors, late: r.late, metrics: metricsOf(r.samples), cpuMsPerRequest: r.cpuMsPerRequest };
      blocks.push(b);
      const m = b.metrics;
      console.error(`[bench] run ${run} block ${index + 1} ${c.padEnd(3)} n=${b.requests} err=${b.errors} late=${b.late} ttfb p50/p99 ${m.ttfb_p50.toFixed(2)}/${m.ttfb_p99.toFixed(2)} total p50/p99 ${m.total_p50.toFixed(2)}/${m.total_p99.toFixed(2)} ms; cpu ms/req ${Object.entries(r.cpuMsPerRequest).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}${r.errorSample ? ` (${r.errorSample})` : ''}`);
    }
  }
  const elapsedS = (Date.now() - started) / 1000;
  const loadEnd = os.loadavg();
  await pool.close();

  // Router shutdown delivers the analytics buffer; then count what was written.
  await stop(router.proc, 15_000);
  const db = await openSqlite(path.join(routerDir, 'analytics.db'));
  const q = (sql: string) => db.prepare(sql).all() as Array<Record<string, number | string>>;
  const written = {
    requests: q(`SELECT shadowed, COUNT(*) AS n FROM kvroute_events WHERE type = 'request' GROUP BY shadowed ORDER BY shadowed`),
    pairs: q(`SELECT pair_kind, cand_error_class, comparable, COUNT(*) AS n FROM kvroute_events WHERE type = 'shadow_pair' GROUP BY pair_kind, cand_error_class, comparable`),
  };
  (db as unknown as { close(): void }).close();
  await killAll();

  const pooled = { off: metricsOf(pooledSamples.off), on: metricsOf(pooledSamples.on) };
  const rows = summarize(blocks, pooled);
  const table = markdownTable(rows);
  const cpu = cpuTable(blocks);
  const shadowedRequests = Number(written.requests.find((r) => Number(r.shadowed) === 1)?.n ?? 0);
  const pairs = written.pairs.reduce((s, r) => s + Number(r.n), 0);
  const onRequests = blocks.filter((b) => b.condition === 'on').reduce((s, b) => s + b.requests + b.errors, 0) + Math.round(3 * opt.rate);
  const errors = blocks.reduce((s, b) => s + b.errors, 0);
  const late = blocks.reduce((s, b) => s + b.late, 0);
  const outside = rows.filter((r) => !r.withinNoise).map((r) => r.metric);
  const systematic = rows.filter((r) => r.systematic).map((r) => r.metric);
  const verdict =
    (outside.length ? `outside the noise: ${outside.join(', ')}` : 'every on-vs-off difference is within the largest off-vs-off difference') +
    (systematic.length ? `; but ${systematic.join(', ')} rose in every run by more than the median off-vs-off difference (a small systematic cost)` : '; no metric moved the same way in every run');
  const md = [
    `Command: \`WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false ${command}\``,
    '',
    `${opt.runs} runs x 4 blocks of ${opt.durationS} s (off/on/off/on, alternating with on/off/on/off), ${opt.rate} req/s open loop, ` +
      `half streaming, max_tokens ${opt.maxTokens}, simulator time-scale ${opt.timeScale}, shadow simulator nice ${opt.shadowNice}; ${pooledSamples.off.length} off / ${pooledSamples.on.length} on samples, ` +
      `${errors} errors, ${late} late sends; load average ${loadStart[0]!.toFixed(2)} at start, ${loadEnd[0]!.toFixed(2)} at end (2 shared cores)` +
      (others.length ? `; other benchmarks were running: ${others.map((l) => l.split(' ').slice(1, 4).join(' ')).join('; ')}` : '; no other benchmark running') +
      '.',
    `Shadow legs written: ${shadowedRequests} shadowed request events and ${pairs} shadow pairs for ~${onRequests} requests sent with shadow on (warm-up included).`,
    '',
    table,
    '',
    cpu,
    '',
    `Verdict: ${verdict}. "Noise" is |off block 1 − off block 2| within a run (same config, minutes apart); the verdict ` +
      'asks that both the pooled on − off difference and the median per-run difference be no larger than the largest such A/A difference.',
  ].join('\n');
  console.log(md);

  const outDir = path.join(root, 'bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, `${opt.out}.json`),
    JSON.stringify({ command, date: new Date().toISOString(), options: opt, elapsedS, loadavg: { start: loadStart, end: loadEnd }, otherBenchmarks: others, pooled, summary: rows, blocks, written, verdict }, null, 2) + '\n',
  );
  fs.writeFileSync(path.join(outDir, `${opt.out}.md`), md + '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch(async (err: unknown) => {
  console.error('[bench] failed:', err);
  await killAll();
  process.exit(1);
});
