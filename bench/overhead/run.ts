// Overhead benchmark: direct vs nginx vs Portkey vs kvroute (Node) vs kvroute (workerd), one
// run, same upstream, loopback only.
//
//   npx tsx bench/overhead/run.ts [--duration 10] [--connections 50] [--runs 3] [--targets direct,nginx,...]
//                                 [--base-ref REF --targets ...,kvroute-node,kvroute-node@base]
// A target named NAME@base runs NAME from commit REF, in the same run as NAME from the tree: before/after
// ratios of a change measured side by side.
//
// Per run and per target (targets interleaved, order rotated every run):
//   1. non-streaming at saturation: autocannon, `connections` keep-alive connections for `duration` s
//      (after `warmup` s of the same) -> req/s, latency p50/p99 (autocannon's histogram: 1 ms resolution);
//   2. streaming: closed loop at `stream-concurrency` -> time to first body byte p50/p99 (microsecond clock);
//   3. below saturation: open loop at `low-rate` req/s -> full-response latency p50/p99, and the p50 each
//      target adds over `direct` measured in the same run.
// Reported numbers are medians over runs; ratios are computed within each run, then the median is taken.
// The runtime floors (node-floor, hono-floor-workerd: minimal proxies on the same stack with no auth, config or
// routing) give each kvroute target a "CPU per request ÷ floor" ratio measured in the same run.
// CPU pinning (--pin split, the default on >= 2 CPUs): this process (load generators) runs on --client-cpus,
// the upstream and the target under test on --server-cpus, so the client never steals the server's core and
// every proxy pays for the same upstream work on its core. --pin none lets the OS schedule everything.
// Writes bench/results/overhead.json and bench/results/overhead.md; all child processes are killed on exit.
import autocannon from 'autocannon';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { num, parseFlags } from '../../src/util/args.ts';
import { benchBody } from './body.ts';
import { once, rateLoad, streamLoad, type RateResult, type StreamResult } from './client.ts';
import { canConnect, freePort, killAll, killAllSync, groupTicks, exitOf, live, setNice, settle, start, stop, waitReady, which } from './procs.ts';
import { fmt, fmtInt, median } from './stats.ts';
import { DEFAULT_TARGETS, TARGETS, type Ctx, type Running } from './targets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const f = parseFlags(process.argv.slice(2), {
  duration: { type: 'string' },
  connections: { type: 'string' },
  runs: { type: 'string' },
  warmup: { type: 'string' },
  'initial-warmup': { type: 'string' },
  targets: { type: 'string' },
  'stream-duration': { type: 'string' },
  'stream-concurrency': { type: 'string' },
  'low-rate': { type: 'string' },
  'low-duration': { type: 'string' },
  'ttft-ms': { type: 'string' },
  'prompt-chars': { type: 'string' },
  chunks: { type: 'string' },
  'chunk-delay-ms': { type: 'string' },
  pin: { type: 'string' },
  'server-cpus': { type: 'string' },
  'client-cpus': { type: 'string' },
  'kvroute-config': { type: 'string' },
  'kvroute-ref': { type: 'string' },
  'base-ref': { type: 'string' },
  nice: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean' },
});
if (f.help) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const cpuCount = os.availableParallelism(); // before this process pins itself
const opt = {
  duration: num('duration', f.duration, 10),
  connections: num('connections', f.connections, 50),
  runs: num('runs', f.runs, 3),
  warmup: num('warmup', f.warmup, 1),
  initialWarmup: num('initial-warmup', f['initial-warmup'], 3),
  streamDuration: num('stream-duration', f['stream-duration'], 2),
  streamConcurrency: num('stream-concurrency', f['stream-concurrency'], 10),
  lowRate: num('low-rate', f['low-rate'], 200),
  lowDuration: num('low-duration', f['low-duration'], 2),
  ttftMs: num('ttft-ms', f['ttft-ms'], 20),
  promptChars: num('prompt-chars', f['prompt-chars'], 1024),
  chunks: num('chunks', f.chunks, 10),
  chunkDelayMs: num('chunk-delay-ms', f['chunk-delay-ms'], 2),
  pin: f.pin ?? (cpuCount >= 2 && which('taskset') ? 'split' : 'none'),
  serverCpus: f['server-cpus'] ?? '0',
  clientCpus: f['client-cpus'] ?? String(cpuCount - 1),
  targets: (f.targets ?? DEFAULT_TARGETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
  out: f.out ?? path.join(root, 'bench/results/overhead.json'),
  nice: num('nice', f.nice, 0),
};
if (!['split', 'none'].includes(opt.pin)) throw new Error(`--pin must be split or none, got '${opt.pin}'`);
/** `NAME@base`: target NAME run from the --base-ref export, side by side with the same target from the tree. */
const BASE = '@base';
/** The floor a target's CPU per request is read against: its runtime's minimal proxy (none for the rest). */
const floorOf = (n: string) => (/^kvroute-node/.test(n) ? 'node-floor' : /^kvroute-workerd/.test(n) ? 'hono-floor-workerd' : '');
const defOf = (n: string) => TARGETS.find((t) => t.name === (n.endsWith(BASE) ? n.slice(0, -BASE.length) : n));
for (const n of opt.targets) if (n.endsWith(BASE) && !f['base-ref']) throw new Error(`target '${n}' needs --base-ref REF`);
for (const n of opt.targets) if (!defOf(n)) throw new Error(`unknown target '${n}' (known: ${TARGETS.map((t) => t.name).join(', ')})`);
if (!opt.targets.includes('direct')) opt.targets.unshift('direct'); // the baseline for "added latency"

// As it was run: the port range and the niceness it inherited count too (a run under `nice -n 19` on a busy
// machine gets far less CPU than one without).
const inherited = [process.env.KVROUTE_PORT_RANGE ? `KVROUTE_PORT_RANGE=${process.env.KVROUTE_PORT_RANGE} ` : '', os.getPriority() > 0 ? `nice -n ${os.getPriority()} ` : ''].join('');
const command = `${inherited}npx tsx bench/overhead/run.ts ${process.argv.slice(2).join(' ')}`.trim();
// Every target gets the same bytes (body.ts).
const body = benchBody(opt.promptChars);
const streamBody = benchBody(opt.promptChars, true);

// ------------------------------------------------------------------------------------------- clean shutdown
let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  await killAll().catch(() => {});
  process.exit(code);
}
process.on('SIGINT', () => (console.error('\n[bench] SIGINT: stopping all targets'), void shutdown(130)));
process.on('SIGTERM', () => void shutdown(143));
process.on('exit', () => killAllSync());
// Hard bound on the whole invocation, whatever happens.
const budgetS = 120 + opt.targets.length * (opt.initialWarmup + 2) + opt.runs * opt.targets.length * (opt.warmup + opt.duration + opt.streamDuration + opt.lowDuration + 4) * 1.5;
setTimeout(() => (console.error(`[bench] time budget ${Math.round(budgetS)} s exceeded: stopping`), void shutdown(124)), budgetS * 1000).unref();

const log = (...a: unknown[]) => console.error('[bench]', ...a);

// -------------------------------------------------------------------------------------------------- phases
interface Sat {
  rps: number;
  cpu: number; // CPU used by the target's processes during the phase, % of one core (direct: the upstream)
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function saturate(t: Running, seconds: number): Promise<Sat> {
  const c0 = groupTicks(t.proc?.proc);
  const w0 = Date.now();
  const r = await autocannon({
    url: t.origin + t.path,
    method: 'POST',
    headers: t.headers,
    body,
    connections: opt.connections,
    duration: seconds,
    pipelining: 1,
    timeout: 10,
  });
  const ok = r['2xx'];
  const cpu = (groupTicks(t.proc?.proc) - c0) / ((Date.now() - w0) / 1000); // 100 ticks/s = one core
  return { rps: ok / r.duration, cpu, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
}

/** Throws when the upstream is gone (every later number would be garbage); drops a target whose process died. */
function checkAlive(up: { proc: import('node:child_process').ChildProcess; log: string }, running: Map<string, Running>, unavailable: Record<string, string>) {
  const gone = exitOf(up.proc);
  if (gone) throw new Error(`the upstream died mid-run (${gone}); log ${up.log}`);
  for (const [n, t] of running) {
    const e = t.proc && exitOf(t.proc.proc);
    if (e) {
      unavailable[n] = `died mid-run: ${e}; log ${t.proc!.log}`;
      running.delete(n);
    }
  }
}

interface RunRow {
  run: number;
  sat?: Sat;
  stream?: StreamResult;
  /** CPU µs of the target's processes per completed stream during the streaming phase (direct: the upstream's). */
  streamCpuUs?: number;
  low?: RateResult;
}

/**
 * What kvroute code to measure. Default: the working tree as it is. `--kvroute-ref REF` exports that commit
 * (`git archive`, no change to the repository or the working tree) into the scratch dir, with node_modules
 * linked, so a run measures committed code even while the tree is being edited.
 */
function kvrouteSource(tmp: string, ref = f['kvroute-ref'], sub = 'kvroute-src'): { dir: string; describe: string } {
  const git = (...a: string[]) => spawnSync('git', ['-C', root, ...a], { encoding: 'utf8' });
  if (!ref) {
    const head = git('rev-parse', '--short', 'HEAD').stdout.trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'routes', 'bin', 'wrangler.toml').stdout.trim() !== '';
    return { dir: root, describe: `working tree at ${head}${dirty ? ' with uncommitted changes in src/routes' : ''}` };
  }
  const sha = git('rev-parse', '--verify', `${ref}^{commit}`).stdout.trim();
  if (!sha) throw new Error(`--kvroute-ref: unknown ref '${ref}'`);
  const dir = path.join(tmp, sub);
  fs.mkdirSync(dir);
  const r = spawnSync('sh', ['-c', `git -C '${root}' archive --format=tar ${sha} | tar -x -C '${dir}'`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git archive ${sha} failed: ${r.stderr}`);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return { dir, describe: `commit ${sha.slice(0, 7)} (${ref}, exported with git archive)` };
}

// ---------------------------------------------------------------------------------------------------- main
async function main() {
  if (opt.pin === 'split') {
    // Pin every thread of this process (autocannon, stream and rate clients) to the client CPUs.
    const r = spawnSync('taskset', ['-a', '-p', '-c', opt.clientCpus, String(process.pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr}`);
  }
  if (opt.nice !== 0) setNice(opt.nice); // same priority for the load generators and every target
  const serverCpus = opt.pin === 'split' ? opt.serverCpus : undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvb-overhead-'));
  log(`pinning: ${opt.pin}${serverCpus ? ` (client cpus ${opt.clientCpus}, upstream + target cpus ${serverCpus})` : ''}; logs in ${tmp}`);

  const upPort = await freePort();
  const up = start('upstream', process.execPath, ['--import', 'tsx', path.join(root, 'bench/overhead/upstream.ts'), '--port', String(upPort), '--ttft-ms', String(opt.ttftMs), '--chunks', String(opt.chunks), '--chunk-delay-ms', String(opt.chunkDelayMs)], { cwd: root, cpus: serverCpus, logDir: tmp });
  await waitReady('upstream', up, () => canConnect(upPort), 15_000);

  const kv = kvrouteSource(tmp);
  log(`kvroute source: ${kv.describe}`);
  const ctx: Ctx = { root, kvrouteRoot: kv.dir, upstreamPort: upPort, serverCpus, tmp, kvrouteConfig: f['kvroute-config'] };
  const base = f['base-ref'] ? kvrouteSource(tmp, f['base-ref'], 'kvroute-base') : null;
  if (base) log(`@base targets: ${base.describe}`);
  // @base targets get their own scratch dir (configs, data dirs, logs), beside the tree's.
  const baseTmp = () => {
    const d = path.join(tmp, 'base');
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const running = new Map<string, Running>();
  const unavailable: Record<string, string> = {};
  const decisions: Record<string, string> = {};
  for (const name of opt.targets) {
    const def = defOf(name)!;
    const before = new Set(live());
    try {
      log(`starting ${name}`);
      const t = await def.start(name.endsWith(BASE) && base ? { ...ctx, kvrouteRoot: base.dir, tmp: baseTmp() } : ctx);
      const a = await once(t, body);
      if (a.status !== 200 || !a.text.includes('chat.completion')) throw new Error(`non-streaming check: HTTP ${a.status} ${a.text.slice(0, 300)}`);
      if (name.startsWith('kvroute')) {
        // Proof that auth, config and the routing decision ran: the router explains its decision in a header.
        const d = a.headers['x-kvroute-decision'];
        if (!d) throw new Error('no x-kvroute-decision header: is this kvroute with routing on?');
        decisions[name] = Array.isArray(d) ? d.join(', ') : d;
      }
      const s = await once(t, streamBody);
      if (s.status !== 200 || !s.text.includes('[DONE]')) throw new Error(`streaming check: HTTP ${s.status} ${s.text.slice(0, 300)}`);
      running.set(name, t);
    } catch (err) {
      unavailable[name] = (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 6).join(' | ');
      log(`${name} unavailable: ${unavailable[name]}`);
      for (const p of live()) if (!before.has(p)) await stop(p); // only what this target started
    }
  }
  const names = opt.targets.filter((n) => running.has(n));
  if (!running.has('direct')) throw new Error('direct target is not available');

  // JIT warm-up once per target (kvroute needs a few seconds of load to reach its steady state).
  for (const n of names) {
    await settle();
    if (opt.initialWarmup > 0) await saturate(running.get(n)!, opt.initialWarmup);
  }
  const rows: Record<string, RunRow[]> = Object.fromEntries(names.map((n) => [n, []]));
  const loadStart = os.loadavg();
  const t0 = Date.now();
  for (let run = 0; run < opt.runs; run++) {
    const order = [...names.slice(run % names.length), ...names.slice(0, run % names.length)]; // rotated by one per run
    const cur: Record<string, RunRow> = Object.fromEntries(names.map((n) => [n, { run }]));
    const rowOf = (n: string): RunRow => (cur[n] ??= { run });
    for (const n of order) {
      checkAlive(up, running, unavailable);
      const t = running.get(n);
      if (!t) continue;
      await settle();
      if (opt.warmup > 0) await saturate(t, opt.warmup);
      const sat = (rowOf(n).sat = await saturate(t, opt.duration));
      log(`run ${run + 1}/${opt.runs} ${n.padEnd(16)} non-streaming ${fmtInt(sat.rps)} req/s (CPU ${Math.round(sat.cpu)}%) p50 ${sat.p50} ms p99 ${sat.p99} ms${sat.non2xx + sat.errors ? ` non2xx ${sat.non2xx} errors ${sat.errors}` : ''}`);
    }
    for (const n of order) {
      checkAlive(up, running, unavailable);
      const t = running.get(n);
      if (!t) continue;
      await settle();
      await streamLoad(t, streamBody, opt.streamConcurrency, 500); // warm the client's connections
      const c0 = groupTicks(t.proc?.proc);
      const s = (rowOf(n).stream = await streamLoad(t, streamBody, opt.streamConcurrency, opt.streamDuration * 1000));
      rowOf(n).streamCpuUs = ((groupTicks(t.proc?.proc) - c0) * 1e4) / Math.max(1, s.streams); // a tick is 10 ms
      log(`run ${run + 1}/${opt.runs} ${n.padEnd(16)} streaming c=${opt.streamConcurrency} TTFB p50 ${fmt(s.ttfbP50)} ms p99 ${fmt(s.ttfbP99)} ms (${fmtInt(s.streamsPerSec)} streams/s${s.errors + s.incomplete ? `, errors ${s.errors} incomplete ${s.incomplete}: ${s.errorSample}` : ''})`);
    }
    for (const n of order) {
      checkAlive(up, running, unavailable);
      const t = running.get(n);
      if (!t) continue;
      await settle();
      await rateLoad(t, body, opt.lowRate, 500); // warm the client's connections
      const l = (rowOf(n).low = await rateLoad(t, body, opt.lowRate, opt.lowDuration * 1000));
      log(`run ${run + 1}/${opt.runs} ${n.padEnd(16)} @${opt.lowRate} req/s p50 ${fmt(l.p50, 3)} ms p99 ${fmt(l.p99, 3)} ms${l.errors ? ` errors ${l.errors}: ${l.errorSample}` : ''}${l.late ? ` (late sends ${l.late})` : ''}`);
    }
    checkAlive(up, running, unavailable);
    for (const n of names) if (running.has(n)) (rows[n] ??= []).push(rowOf(n));
  }
  const final = names.filter((n) => running.has(n)); // targets that lived through every run
  const elapsedS = (Date.now() - t0) / 1000;
  const loadEnd = os.loadavg();

  // ------------------------------------------------------------------------------------------- aggregate
  const runsOf = (n: string): RunRow[] => rows[n] ?? [];
  const perRun = (n: string, fn: (r: RunRow, i: number) => number) => runsOf(n).map(fn);
  // Targets still running have one row per run, so row i of one has a row i in the other.
  const ratio = (a: string, b: string, fn: (r: RunRow) => number) =>
    running.has(a) && running.has(b) ? median(runsOf(a).map((r, i) => fn(r) / fn(runsOf(b)[i]!))) : NaN;
  const cpuUs = (r: RunRow) => (r.sat!.cpu * 1e4) / r.sat!.rps;
  const added = (a: string, fn: (r: RunRow) => number) => (running.has(a) ? median(runsOf(a).map((r, i) => fn(r) - fn(runsOf('direct')[i]!))) : NaN);
  const summary: Record<string, Record<'rps' | 'cpu' | 'cpuUsPerReq' | 'cpuVsFloor' | 'p50' | 'p99' | 'rpsVsDirect' | 'rpsVsNginx' | 'rpsVsPortkey' | 'errors' | 'streamCpuUs' | 'streamCpuVsFloor' | 'ttfbP50' | 'ttfbP99' | 'ttfbAddedP50' | 'lowP50' | 'lowP99' | 'lowAddedP50', number>> = {};
  for (const n of final) {
    summary[n] = {
      rps: median(perRun(n, (r) => r.sat!.rps)),
      cpu: median(perRun(n, (r) => r.sat!.cpu)),
      cpuUsPerReq: median(perRun(n, (r) => cpuUs(r))),
      cpuVsFloor: ratio(n, floorOf(n), cpuUs),
      p50: median(perRun(n, (r) => r.sat!.p50)),
      p99: median(perRun(n, (r) => r.sat!.p99)),
      rpsVsDirect: ratio(n, 'direct', (r) => r.sat!.rps),
      rpsVsNginx: ratio(n, 'nginx', (r) => r.sat!.rps),
      rpsVsPortkey: ratio(n, 'portkey', (r) => r.sat!.rps),
      errors: runsOf(n).reduce((s, r) => s + r.sat!.non2xx + r.sat!.errors + r.sat!.timeouts + r.stream!.errors + r.stream!.incomplete + r.low!.errors, 0),
      streamCpuUs: median(perRun(n, (r) => r.streamCpuUs!)),
      streamCpuVsFloor: ratio(n, floorOf(n), (r) => r.streamCpuUs!),
      ttfbP50: median(perRun(n, (r) => r.stream!.ttfbP50)),
      ttfbP99: median(perRun(n, (r) => r.stream!.ttfbP99)),
      ttfbAddedP50: added(n, (r) => r.stream!.ttfbP50),
      lowP50: median(perRun(n, (r) => r.low!.p50)),
      lowP99: median(perRun(n, (r) => r.low!.p99)),
      lowAddedP50: added(n, (r) => r.low!.p50),
    };
  }
  const k = summary['kvroute-node'];
  const w = summary['kvroute-workerd'];
  const checks: Record<string, { value: number; holds: boolean }> = k
    ? {
        'kvroute-node req/s >= 10x portkey': { value: k.rpsVsPortkey, holds: k.rpsVsPortkey >= 10 },
        'kvroute-node req/s >= 0.5x nginx': { value: k.rpsVsNginx, holds: k.rpsVsNginx >= 0.5 },
        [`kvroute-node adds <= 1 ms p50 over direct at ${opt.lowRate} req/s`]: { value: k.lowAddedP50, holds: k.lowAddedP50 <= 1 },
      }
    : {};
  if (k && summary['node-floor']) checks['kvroute-node CPU/req <= 1.5x node-floor'] = { value: k.cpuVsFloor, holds: k.cpuVsFloor <= 1.5 };
  if (w && summary['hono-floor-workerd']) checks['kvroute-workerd CPU/req <= 1.5x hono-floor-workerd'] = { value: w.cpuVsFloor, holds: w.cpuVsFloor <= 1.5 };
  if (w) checks[`kvroute-workerd adds <= 1 ms p50 over direct at ${opt.lowRate} req/s`] = { value: w.lowAddedP50, holds: w.lowAddedP50 <= 1 };

  const versions: Record<string, string | undefined> = { node: process.version };
  for (const n of final) if (running.get(n)!.notes) versions[n] = running.get(n)!.notes;
  const meta = {
    date: new Date().toISOString(),
    command,
    options: opt,
    machine: { cpus: cpuCount, model: os.cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: loadEnd, elapsedS },
    versions,
    kvrouteSource: kv.describe,
    kvrouteDecisionSample: decisions,
    unavailable,
  };

  // -------------------------------------------------------------------------------------------- report
  const md: string[] = [];
  md.push(`| target | req/s | p50 ms | p99 ms | CPU % | CPU µs/req | CPU/req ÷ floor | req/s ÷ nginx | stream CPU µs | ÷ floor | stream TTFB p50 ms | TTFB p99 ms | @${opt.lowRate} req/s p50 ms | p99 ms | p50 added vs direct ms |`);
  md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of final) {
    const s = summary[n];
    if (!s) continue;
    md.push(
      `| ${n}${s.errors ? ` (${s.errors} errors)` : ''} | ${fmtInt(s.rps)} | ${fmt(s.p50, 0)} | ${fmt(s.p99, 0)} | ${fmt(s.cpu, 0)} | ${fmt(s.cpuUsPerReq, 0)} | ${Number.isNaN(s.cpuVsFloor) ? '—' : fmt(s.cpuVsFloor)} | ${fmt(s.rpsVsNginx)} | ${fmt(s.streamCpuUs, 0)} | ${Number.isNaN(s.streamCpuVsFloor) ? '—' : fmt(s.streamCpuVsFloor)} | ${fmt(s.ttfbP50)} | ${fmt(s.ttfbP99)} | ${fmt(s.lowP50, 3)}${s.rps < 2 * opt.lowRate ? ' †' : ''} | ${fmt(s.lowP99, 3)} | ${n === 'direct' ? '—' : fmt(s.lowAddedP50, 3)} |`,
    );
  }
  for (const [n, why] of Object.entries(unavailable)) md.push(`| ${n} | not measured: ${why.replaceAll('|', '/').slice(0, 160)} | | | | | | | | | | | | | |`);
  md.push('');
  for (const [name, c] of Object.entries(checks)) md.push(`- ${Number.isNaN(c.value) ? 'not measured' : c.holds ? 'holds' : 'FAILS'}: ${name} (median of per-run values: ${fmt(c.value)})`);
  md.push('- stream CPU µs: CPU time of the target\'s own processes per completed stream in the streaming phase; ÷ floor as for CPU/req.');
  md.push('- CPU/req ÷ floor: per run, the target\'s CPU µs/req over its runtime\'s floor in the same run (Node targets: node-floor; workerd targets: hono-floor-workerd), median over runs.');
  md.push('- CPU % / µs per request: CPU time of the target\'s own processes during the saturated phase (from /proc; for direct, the upstream\'s). It is less sensitive to other load on a shared machine than req/s.');
  if (final.some((n) => (summary[n]?.rps ?? Infinity) < 2 * opt.lowRate)) md.push(`- †: ${opt.lowRate} req/s is more than half of this target's saturated req/s, so it queues: not a below-saturation figure.`);
  md.push(
    `- ${opt.runs} runs, medians; ${opt.duration} s at c=${opt.connections} per target per run (autocannon 9, after ${opt.initialWarmup} s of warm-up per target at start and ${opt.warmup} s before each measurement); requests of ${Buffer.byteLength(body)} bytes (${opt.promptChars}-char system prompt); streaming: c=${opt.streamConcurrency} for ${opt.streamDuration} s, upstream TTFT ${opt.ttftMs} ms then ${opt.chunks} chunks ${opt.chunkDelayMs} ms apart; below saturation: open loop ${opt.lowRate} req/s for ${opt.lowDuration} s.`,
  );
  md.push(
    `- ${opt.nice ? `nice ${opt.nice} for the load generators and all targets; ` : ''}pinning: ${opt.pin === 'split' ? `load generators on CPU ${opt.clientCpus}, upstream + target on CPU ${opt.serverCpus}` : 'none'}; ${meta.machine.cpus} CPUs (${meta.machine.model}), load average ${loadStart.map((x) => x.toFixed(2)).join('/')} at start, ${loadEnd.map((x) => x.toFixed(2)).join('/')} at end; ${Object.entries(versions).map(([a, b]) => `${a} ${b}`).join(', ')}; kvroute: ${kv.describe}.`,
  );
  const table = md.join('\n');
  console.log(`\n${command}\n\n${table}\n`);
  fs.mkdirSync(path.dirname(opt.out), { recursive: true });
  fs.writeFileSync(opt.out, JSON.stringify({ meta, summary, checks, runs: rows }, null, 2) + '\n');
  fs.writeFileSync(opt.out.replace(/\.json$/, '.md'), `${command}\n\n${table}\n`);
  log(`wrote ${path.relative(root, opt.out)} and ${path.relative(root, opt.out.replace(/\.json$/, '.md'))} (${Math.round(elapsedS)} s of measuring)`);
  for (const t of running.values()) if (t.proc) await stop(t.proc.proc);
  await killAll();
  if (Object.keys(unavailable).length === 0) fs.rmSync(tmp, { recursive: true, force: true });
  else log(`logs kept in ${tmp}`);
}

main()
  .then(() => shutdown(0))
  .catch((err: unknown) => {
    console.error('[bench] failed:', err instanceof Error ? err.stack ?? err.message : err);
    void shutdown(1);
  });
