// A soak: mixed streaming load with client aborts and a repeating schedule of backend and store faults, for
// --minutes on each runtime, watching the router's memory, descriptors, sockets and in-flight counts.
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/soak/run.ts [--minutes 30]
//       [--runtime node|workerd|both] [--concurrency 50] [--sample-ms 5000] [--backends 4] [--time-scale 5] [--abort-share 0.1]
//       [--without EVENTS,ANALYTICS_DB]   (workerd: a Worker without a Queue or D1, events straight to ClickHouse)
//       [--direct]                        (workerd: the Worker on its own socket, no Miniflare entry worker in front)
//       [--no-faults]                     (the load alone: no backend faults, no ClickHouse outages)
//   npx tsx bench/soak/run.ts --render-only [--runtime ...]   redraws the charts and soak.md from the JSON files
// Everything runs here over loopback, started through the fault-matrix harness (test/e2e/faults/harness.ts): a
// private ClickHouse, one `kvroute sim` process per backend, the router (`kvroute serve`, or the Worker in
// workerd through Miniflare), and the closed-loop clients in this process. It stops by itself, and every process
// it started is stopped on the way out (also on Ctrl-C or SIGTERM). Writes bench/results/soak-<runtime>.json and
// .svg, and bench/results/soak.md.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EVENTS_TABLE, migrateClickHouse } from '../../src/analytics/migrations.ts';
import { createClickHouseClient } from '../../src/analytics/sinks/clickhouse.ts';
import { num, parseFlags } from '../../src/util/args.ts';
import { dropDatabase, freePort, startPrivateClickHouse, testDatabase, type PrivateClickHouse } from '../../test/e2e/analytics/clickhouse-server.ts';
import { Backends, inflightSettles, newTenant, sleep, startRouter, storedEvents, type Router, type Runtime } from '../../test/e2e/faults/harness.ts';
import { allocatorStats, freeBytes, releaseFreeMemory } from './allocator.ts';
import { soakChart } from './chart.ts';
import { Driver } from './driver.ts';
import { faultPlan, type FaultWindow } from './faults.ts';
import { ABORT_SHARE } from './workload.ts';
import { descendants, descriptors, findDescendant, rssBytes, type PeerOf } from './procfs.ts';
import { writeSoakMarkdown } from './report.ts';
import { sampleProcess } from './sampler.ts';
import { checks, resultName, type Sample, type SoakResult } from './summary.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const RESULTS = join(ROOT, 'bench/results');
const CLICKHOUSE_SCRIPT = join(ROOT, 'scripts/clickhouse.sh');

const flags = parseFlags(process.argv.slice(2), {
  minutes: { type: 'string' },
  runtime: { type: 'string' },
  concurrency: { type: 'string' },
  'sample-ms': { type: 'string' },
  backends: { type: 'string' },
  'time-scale': { type: 'string' },
  /** The share of streams the client leaves mid-way (default 0.1); 0 for a run without client aborts. */
  'abort-share': { type: 'string' },
  /**
   * workerd: bindings of wrangler.toml to leave out, comma-separated. `EVENTS,ANALYTICS_DB` runs the Worker without
   * a Queue or D1 (events straight to ClickHouse), so Miniflare's local Queue broker and D1, which share the
   * measured workerd process, hold no state that grows with the run.
   */
  without: { type: 'string' },
  /** workerd: the Worker on its own socket, without Miniflare's entry worker proxying each request (as on the edge). */
  direct: { type: 'boolean' },
  /** The load without the fault schedule: tells what the faults add to memory from what the load alone does. */
  'no-faults': { type: 'boolean' },
  /** Redraw the charts and soak.md from the result files, without a run. */
  'render-only': { type: 'boolean' },
});
const runtimeFlag = flags.runtime ?? 'both';
if (!['node', 'workerd', 'both'].includes(runtimeFlag)) throw new Error(`--runtime must be node, workerd or both, got '${runtimeFlag}'`);
const opt = {
  minutes: num('minutes', flags.minutes, 30),
  runtimes: runtimeFlag === 'both' ? (['node', 'workerd'] as Runtime[]) : [runtimeFlag as Runtime],
  concurrency: num('concurrency', flags.concurrency, 50),
  sampleMs: num('sample-ms', flags['sample-ms'], 5_000),
  backends: num('backends', flags.backends, 4),
  timeScale: num('time-scale', flags['time-scale'], 5),
  abortShare: num('abort-share', flags['abort-share'], ABORT_SHARE),
  without: (flags.without ?? '').split(',').filter(Boolean),
  direct: flags.direct === true,
  faults: flags['no-faults'] !== true,
};
/** The abort share when it is not the workload's default: recorded in the result and in its file name. */
const abortShareTag = opt.abortShare !== ABORT_SHARE ? opt.abortShare : undefined;
const COMMAND = `npx tsx bench/soak/run.ts ${process.argv.slice(2).join(' ')}`.trim();
/** The RSS growth check starts here: the first minutes fill caches, pools and the JIT. */
const warmS = (minutes: number) => Math.min(5 * 60, (minutes * 60) / 6);
/**
 * After the load: how long fds and sockets may take to come back (the Node router keeps an idle client connection
 * for its 65 s keep-alive timeout, and clients honour that hint), and stored events to arrive.
 */
const SETTLE_MS = 100_000;
const EVENTS_WAIT_MS = 180_000;

// ---- Everything this process started, stopped on every way out ----
let ch: PrivateClickHouse | undefined;
const stoppers: (() => Promise<unknown>)[] = [];

function killEverythingSync(): void {
  for (const pid of descendants(process.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  if (!ch) return;
  try {
    process.kill(Number(readFileSync(join(ch.dir, 'clickhouse.pid'), 'utf8')), 'SIGKILL'); // started with setsid
  } catch {
    // not running
  }
}
process.on('exit', killEverythingSync);
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n[soak] ${sig}: stopping everything this run started`);
    const bounded = Promise.race([Promise.allSettled(stoppers.map((s) => s())), sleep(15_000)]);
    void bounded.finally(() => {
      ch?.dispose();
      process.exit(130);
    });
  });
}

const clickhouse = (cmd: 'start' | 'stop') => async () => {
  await promisify(execFile)('bash', [CLICKHOUSE_SCRIPT, cmd, ch!.dir, String(ch!.port)], { timeout: 60_000 });
};

const fmt = (b: number | undefined) => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(1)}M`);

/** The process whose memory and descriptors are measured: `kvroute serve`, or workerd below the local Worker. */
async function servingProcess(router: Router): Promise<{ pid: number; measured: string }> {
  if (router.runtime === 'node') return { pid: router.pid, measured: 'the `kvroute serve` process' };
  for (let i = 0; i < 100; i++) {
    const pid = findDescendant(router.pid, 'workerd');
    if (pid) return { pid, measured: 'the workerd process under `kvroute local-worker` (Miniflare)' };
    await sleep(100);
  }
  throw new Error('no workerd process below the local Worker');
}

async function soak(runtime: Runtime): Promise<SoakResult> {
  const durationMs = opt.minutes * 60_000;
  const database = testDatabase(`soak_${runtime}`);
  const admin = createClickHouseClient({ url: ch!.url, database: 'default' });
  await migrateClickHouse(admin, database);
  await admin.close();

  const backends = await Backends.start(opt.backends, ['--time-scale', String(opt.timeScale)]);
  stoppers.push(() => backends.stop());
  // The local Worker's own output (Miniflare's warnings, such as a Queue message moved to the dead-letter queue,
  // and the Worker's console.error) goes to this run's output, so a lost event leaves a trace.
  process.env.KVR_DEBUG ??= '1';
  // workerd: its inspector, to read the heap of each isolate (the kvroute Worker's apart from Miniflare's services).
  const inspectorPort = runtime === 'workerd' ? await freePort() : undefined;
  if (inspectorPort) process.env.KVROUTE_INSPECTOR_PORT = String(inspectorPort);
  const router = await startRouter(runtime, ch!.url, database, { without: opt.without, direct: opt.direct });
  delete process.env.KVROUTE_INSPECTOR_PORT;
  stoppers.unshift(() => router.stop());
  try {
    const { pid, measured } = await servingProcess(router);
    // Which connection each of the router's sockets is: from a client, to a backend, to ClickHouse.
    const routerPort = Number(new URL(router.url).port);
    const peerOf: PeerOf = (local, remote) =>
      local === routerPort ? 'clients' : backends.ports.includes(remote) ? 'backends' : remote === ch!.port ? 'clickhouse' : undefined;
    const tenants = [`soak-${runtime}-a`, `soak-${runtime}-b`];
    const keys = [
      await newTenant(router, tenants[0]!, backends.urls), // prefix affinity (the default policy)
      await newTenant(router, tenants[1]!, backends.urls, { affinity: { policy: 'least-loaded' } }),
    ];
    await sleep(2_000);
    const t0 = performance.now();
    const tNow = () => (performance.now() - t0) / 1000;
    const baseline = await sampleProcess(router, pid, backends.urls, -2, peerOf, inspectorPort);
    console.log(`[soak ${runtime}] router pid ${pid} (${measured}); baseline rss ${fmt(baseline.rssBytes)} fds ${baseline.fds} tcp ${baseline.tcp}; ${opt.minutes} min, ${opt.concurrency} clients`);

    // Faults on their schedule; a step that fails is reported, not fatal.
    const plan = opt.faults ? faultPlan(durationMs, { backends, timeScale: opt.timeScale, stopClickHouse: clickhouse('stop'), startClickHouse: clickhouse('start') }) : { windows: [], steps: [] };
    const faultStepErrors: string[] = [];
    const stepsDone = Promise.all(
      plan.steps.map(async (s) => {
        await sleep(s.atMs);
        if (interrupted) return;
        await Promise.resolve(s.run()).catch((e: unknown) => faultStepErrors.push(`at ${s.atMs / 1000} s: ${(e as Error).message}`));
      }),
    );
    const active = (t: number) => plan.windows.filter((w) => w.fromMs <= t * 1000 && t * 1000 < w.toMs).map(label);

    const driver = new Driver(router, keys, opt.abortShare);
    driver.start(opt.concurrency);
    const samples: Sample[] = [];
    const sampleErrors: string[] = [];
    let last = tNow();
    let sampling = true;
    const sampler = (async () => {
      while (sampling && !interrupted) {
        await sleep(opt.sampleMs - ((tNow() * 1000) % opt.sampleMs));
        const t = tNow();
        const { verdicts: c, failures } = driver.drain();
        // workerd collects the isolate's garbage rarely when it is not short of heap (stream chunks' ArrayBuffers
        // pile up between collections): once a minute a sample is taken right after a full GC, to see what is live.
        const gc = inspectorPort !== undefined && (samples.length + 1) % Math.max(1, Math.round(60_000 / opt.sampleMs)) === 0;
        const p = await sampleProcess(router, pid, backends.urls, Math.round(t), peerOf, inspectorPort, gc).catch((e: unknown) => e as Error);
        if (p instanceof Error) {
          sampleErrors.push(`at ${t.toFixed(0)} s: ${p.message}`);
          console.error(`[soak ${runtime}] sample failed: ${p.message}`);
          continue;
        }
        // workerd: tcmalloc's own figures at the warm point and every as long again (5 minutes in a 30-minute run;
        // reading them pauses workerd for about two seconds).
        const allocator = runtime === 'workerd' && (samples.length + 1) % Math.max(1, Math.round((warmS(opt.minutes) * 1000) / opt.sampleMs)) === 0 ? await allocatorStats(pid) : undefined;
        const s: Sample = { ...p, ...(allocator && { allocator }), rps: c.total / (t - last), outcomes: c.by, ...(failures.total > 0 && { failures: failures.by }) };
        last = t;
        samples.push(s);
        console.log(
          `[soak ${runtime} ${String(s.t).padStart(5)}s] rss ${fmt(s.rssBytes)} (brk ${fmt(s.resident?.brk)} v8pages ${fmt(s.resident?.v8Pages)} anon ${fmt(s.resident?.otherAnon)}) heap ${fmt(s.heapUsedBytes)}/${fmt(s.heapTotalBytes)}${s.afterGc ? ' (after GC)' : ''} ext ${fmt(s.externalBytes)} ab ${fmt(s.arrayBuffersBytes)} fds ${s.fds} tcp ${s.tcp} ${s.allocator ? `tcmalloc allocated ${fmt(s.allocator.allocatedBytes)} free ${fmt(freeBytes(s.allocator))} ` : ''}` +
            `inflight ${s.inflight.join('/')} breakers ${(s.breakers ?? []).map((b) => `${b.state}${b.healthy === false ? '(unhealthy)' : ''}:${b.ejections}`).join('/')} ${s.rps.toFixed(0)}/s ${JSON.stringify({ ...c.by, ...failures.by })} load ${s.load1.toFixed(2)} ${active(t).join(', ')}`,
        );
      }
    })();

    await sleep(durationMs);
    await driver.stop();
    await stepsDone;
    const loadEndedS = tNow();
    console.log(`[soak ${runtime}] load stopped at ${loadEndedS.toFixed(0)} s; settling`);

    // Stored events, counted from now on beside the settling: when each tenant's count is complete tells late
    // events (the Queue's batching and retry delays) from lost ones (never complete within the bound).
    const eventCounts = tenants.map(async (tenant, i) => {
      const stored = await storedEvents(ch!.url, database, tenant, driver.totals.answered[i]!, EVENTS_WAIT_MS);
      return { stored, afterLoadS: Math.round(tNow() - loadEndedS) };
    });
    // Back to the start: descriptors and sockets once keep-alive connections have closed (bounded).
    const settleStart = performance.now();
    let settled = descriptors(pid, peerOf)!;
    while (performance.now() - settleStart < SETTLE_MS && (settled.fds > baseline.fds || settled.tcp > baseline.tcp)) {
      await sleep(1_000);
      settled = descriptors(pid, peerOf)!;
    }
    const settledAfterMs = performance.now() - settleStart;
    const inflight = await inflightSettles(router, 30_000);
    const events = [];
    for (const [i, tenant] of tenants.entries()) {
      const { stored, afterLoadS } = await eventCounts[i]!;
      events.push({ tenant, answered: driver.totals.answered[i]!, stored, afterLoadS, answeredBy: driver.totals.answeredBy[i]!.by, storedBy: await storedByClass(database, tenant) });
    }
    sampling = false;
    await sampler;
    // After the load and the settling: what the kvroute isolate still holds once its garbage is collected.
    if (inspectorPort !== undefined) {
      const p = await sampleProcess(router, pid, backends.urls, Math.round(tNow()), peerOf, inspectorPort, true).catch(() => undefined);
      // And what RSS comes down to once tcmalloc gives its free pages back: memory it kept, not memory in use.
      const allocator = p && (await allocatorStats(pid));
      const released = allocator && (await releaseFreeMemory(pid)) ? rssBytes(pid) : undefined;
      if (p) samples.push({ ...p, ...(allocator && { allocator }), ...(released !== undefined && { rssAfterReleaseBytes: released }), rps: 0, outcomes: {} });
    }

    const loads = samples.map((s) => s.load1);
    const result: Omit<SoakResult, 'checks'> = {
      runtime,
      ...(opt.without.length && { without: opt.without }),
      ...(abortShareTag !== undefined && { abortShare: abortShareTag }),
      ...(opt.direct && { direct: true }),
      ...(!opt.faults && { noFaults: true }),
      command: `${process.env.KVROUTE_PORT_RANGE ? `KVROUTE_PORT_RANGE=${process.env.KVROUTE_PORT_RANGE} ` : ''}WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false ${COMMAND}`,
      startedAt: new Date(Date.now() - tNow() * 1000).toISOString(),
      minutes: opt.minutes,
      concurrency: opt.concurrency,
      sampleMs: opt.sampleMs,
      measured,
      baseline,
      samples,
      faults: plan.windows,
      faultStepErrors,
      sampleErrors,
      totals: {
        requests: driver.totals.outcomes.total,
        outcomes: driver.totals.outcomes.by,
        shapes: driver.totals.shapes.by,
        defectExamples: driver.totals.defectExamples,
      },
      end: { settled: { afterMs: Math.round(settledAfterMs), fds: settled.fds, tcp: settled.tcp, tcpByState: settled.tcpByState, tcpByPeer: settled.tcpByPeer }, inflight, events },
      loadAverage: { mean: loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length), max: Math.max(...loads) },
    };
    await dropDatabase(ch!.url, database).catch(() => {});
    return { ...result, checks: checks(result, warmS(opt.minutes)) };
  } finally {
    await router.stop();
    await backends.stop();
    stoppers.length = 0;
  }
}

/** Stored request events of `tenant` by error class ('' = none), distinct by event id. */
async function storedByClass(database: string, tenant: string): Promise<Record<string, number>> {
  const client = createClickHouseClient({ url: ch!.url, database, requestTimeoutMs: 10_000 });
  try {
    const rs = await client.query({
      query: `SELECT error_class AS c, uniqExact(event_id) AS n FROM \`${database}\`.${EVENTS_TABLE} WHERE tenant = '${tenant}' AND type = 'request' GROUP BY error_class`, // our own ids, [\w-]+ (ClickHouse 18 has no query parameters)
      format: 'JSONEachRow',
    });
    return Object.fromEntries((await rs.json<{ c: string; n: string }>()).map((r) => [r.c || 'none', Number(r.n)]));
  } catch (e) {
    return { query_failed: 1, [String((e as Error).message).slice(0, 80)]: 1 };
  } finally {
    await client.close();
  }
}

function label(w: FaultWindow): string {
  return w.target < 0 ? w.kind : `${w.kind} (b${w.target})`;
}

async function writeChart(r: SoakResult): Promise<void> {
  const pts = (f: (s: Sample) => number | undefined) => r.samples.filter((s) => f(s) !== undefined).map((s) => [s.t, f(s)!] as [number, number]);
  const mib = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
  const memory: Record<string, [number, number][]> = { RSS: pts((s) => mib(s.rssBytes)) };
  if (r.runtime === 'node') Object.assign(memory, { 'heap used': pts((s) => mib(s.heapUsedBytes)), 'heap total': pts((s) => mib(s.heapTotalBytes)) });
  else Object.assign(memory, { 'kvroute isolate heap used': pts((s) => mib(s.heapUsedBytes)), 'all isolates, heap total': pts((s) => mib(s.isolates?.totalBytes)) });
  const svg = await soakChart(
    `kvroute soak on ${r.runtime}: ${r.minutes} min, ${r.concurrency} clients (${r.measured})`,
    [
      { title: 'memory (MiB)', lines: memory },
      { title: 'open fds and TCP sockets', lines: { fds: pts((s) => s.fds), 'TCP sockets': pts((s) => s.tcp) } },
      { title: 'answers/s and in-flight', lines: { 'answers/s': pts((s) => s.rps), 'in-flight': pts((s) => s.inflight.reduce((a, b) => a + b, 0)) } },
    ],
    // The repeating backend faults by kind (the backend rotates), ClickHouse outages on their own.
    r.faults,
    (w) => w.kind,
  );
  writeFileSync(join(RESULTS, `${resultName(r)}.svg`), svg);
}

async function main(): Promise<number> {
  mkdirSync(RESULTS, { recursive: true });
  if (flags['render-only']) {
    // The checks again from the stored samples (a newer summary may compute more figures).
    for (const runtime of opt.runtimes) {
      const file = join(RESULTS, `${resultName({ runtime, without: opt.without, abortShare: abortShareTag, direct: opt.direct || undefined, noFaults: !opt.faults || undefined })}.json`);
      const r = JSON.parse(readFileSync(file, 'utf8')) as SoakResult;
      r.checks = checks(r, warmS(r.minutes));
      writeFileSync(file, JSON.stringify(r, null, 1));
      await writeChart(r);
    }
    console.log(`wrote ${writeSoakMarkdown(RESULTS)}`);
    return 0;
  }
  ch = await startPrivateClickHouse();
  let failed = false;
  try {
    for (const runtime of opt.runtimes) {
      if (interrupted) break;
      const r = await soak(runtime);
      writeFileSync(join(RESULTS, `${resultName(r)}.json`), JSON.stringify(r, null, 1));
      await writeChart(r);
      console.log(`\n[soak ${runtime}] ${r.totals.requests} requests; load average mean ${r.loadAverage.mean.toFixed(2)} max ${r.loadAverage.max.toFixed(2)} (${os.cpus().length} cores)`);
      for (const c of r.checks) console.log(`  ${c.pass === undefined ? '    ' : c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.value}`);
      console.log(`  outcomes: ${JSON.stringify(r.totals.outcomes)}`);
      for (const e of r.end.events) console.log(`  ${e.tenant}: answered ${JSON.stringify(e.answeredBy)}, stored ${JSON.stringify(e.storedBy)}`);
      if (r.faultStepErrors.length) console.log(`  fault steps that failed: ${r.faultStepErrors.join('; ')}`);
      failed ||= r.checks.some((c) => c.pass === false);
    }
    console.log(`\nwrote ${writeSoakMarkdown(RESULTS)}`);
  } finally {
    ch.dispose();
  }
  return failed ? 1 : 0;
}

// Bounded: a run that outlives its schedule by far is stopped.
const watchdog = setTimeout(() => {
  console.error('[soak] the run took far longer than planned; stopping');
  process.kill(process.pid, 'SIGTERM');
}, opt.runtimes.length * (opt.minutes + 15) * 60_000);
watchdog.unref();
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
