// Does workerd's own memory grow under streaming load, with or without kvroute? Side by side in one run: standalone
// workerd (no Miniflare) serving the minimal Hono forwarder (hono-floor-workerd) and the kvroute Worker
// (kvroute-workerd), both in front of the same upstream, each driven by its own closed loop of streaming and
// non-streaming chat requests, a share of which the client leaves mid-stream. Each workerd's RSS is sampled, and
// the growth from the warm point (a sixth of the run, at most 5 minutes) to the end is compared between the two.
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/overhead/workerd-memory.ts
//       [--minutes 15] [--concurrency 20] [--abort-share 0.1] [--sample-ms 5000] [--targets hono-floor-workerd,kvroute-workerd]
// Loopback only; stops by itself. Writes bench/results/workerd-memory.json and .md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { num, parseFlags } from '../../src/util/args.ts';
import { canConnect, freePort, killAll, killAllSync, start, waitReady } from './procs.ts';
import { MODEL, TARGETS, type Ctx, type Running } from './targets.ts';
import { rssParts } from '../soak/procfs.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RESULTS = path.join(ROOT, 'bench/results');
const flags = parseFlags(process.argv.slice(2), {
  minutes: { type: 'string' },
  concurrency: { type: 'string' },
  'abort-share': { type: 'string' },
  'sample-ms': { type: 'string' },
  targets: { type: 'string' },
});
const opt = {
  minutes: num('minutes', flags.minutes, 15),
  concurrency: num('concurrency', flags.concurrency, 20),
  abortShare: num('abort-share', flags['abort-share'], 0.1),
  sampleMs: num('sample-ms', flags['sample-ms'], 5_000),
  targets: (flags.targets ?? 'hono-floor-workerd,kvroute-workerd').split(','),
};
const COMMAND = `npx tsx bench/overhead/workerd-memory.ts ${process.argv.slice(2).join(' ')}`.trim();
const warmS = Math.min(300, (opt.minutes * 60) / 6);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void killAll().finally(() => process.exit(130)));

/** Per target: what its clients saw, and its workerd's RSS over time. */
interface Run {
  name: string;
  running: Running;
  pid: number;
  counts: Record<string, number>;
  samples: { t: number; rss: number; anon: number }[];
}

const WORDS = 'the of and to in is for on with as by at from an be this that it are or was'.split(' ');
const prompt = () => Array.from({ length: 60 + Math.floor(Math.random() * 300) }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ');

/** One request: streamed (70%) or not; a streamed one is left after a few chunks with probability abortShare. */
async function once(r: Run): Promise<string> {
  const stream = Math.random() < 0.7;
  const abortAfter = stream && Math.random() < opt.abortShare ? 1 + Math.floor(Math.random() * 5) : 0;
  const ac = new AbortController();
  const body = JSON.stringify({ model: MODEL, stream, max_tokens: 64, messages: [{ role: 'system', content: `system ${Math.floor(Math.random() ** 3 * 8)}` }, { role: 'user', content: prompt() }] });
  try {
    const res = await fetch(r.running.origin + r.running.path, { method: 'POST', headers: r.running.headers, body, signal: AbortSignal.any([ac.signal, AbortSignal.timeout(30_000)]) });
    if (!res.body) return `status ${res.status}`;
    const reader = res.body.getReader();
    for (let n = 0; ; n++) {
      if (abortAfter && n >= abortAfter) {
        ac.abort(); // the client leaves without a cancel of its own: the connection just closes
        return 'aborted';
      }
      if ((await reader.read()).done) break;
    }
    return `status ${res.status}`;
  } catch (e) {
    return `error ${(e as Error).name}`;
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'workerd-memory-'));
  const upPort = await freePort();
  // The overhead benchmark's upstream: 40 chunks 5 ms apart after 20 ms, so a stream lasts about 0.2 s.
  const up = start('upstream', process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/overhead/upstream.ts'), '--port', String(upPort), '--ttft-ms', '20', '--chunks', '40', '--chunk-delay-ms', '5'], { cwd: ROOT, logDir: tmp });
  await waitReady('upstream', up, () => canConnect(upPort), 15_000);
  const ctx: Ctx = { root: ROOT, kvrouteRoot: ROOT, upstreamPort: upPort, tmp };
  const runs: Run[] = [];
  for (const name of opt.targets) {
    const def = TARGETS.find((t) => t.name === name);
    if (!def) throw new Error(`unknown target ${name}; one of ${TARGETS.map((t) => t.name).join(', ')}`);
    const running = await def.start(ctx);
    const pid = running.proc?.proc.pid;
    if (pid === undefined) throw new Error(`${name} has no process of its own to measure`);
    runs.push({ name, running, pid, counts: {}, samples: [] });
  }
  console.error(`[workerd-memory] ${opt.minutes} min, c=${opt.concurrency} per target, abort share ${opt.abortShare}; logs in ${tmp}`);
  const t0 = Date.now();
  const end = t0 + opt.minutes * 60_000;
  const sample = () => {
    for (const r of runs) {
      const p = rssParts(r.pid);
      if (p) r.samples.push({ t: (Date.now() - t0) / 1000, rss: p.anon + p.file, anon: p.anon });
    }
  };
  const sampler = setInterval(sample, opt.sampleMs);
  sample();
  await Promise.all(
    runs.flatMap((r) =>
      Array.from({ length: opt.concurrency }, async () => {
        while (Date.now() < end) {
          const o = await once(r);
          r.counts[o] = (r.counts[o] ?? 0) + 1;
        }
      }),
    ),
  );
  // After the load: idle for a minute, then one more sample (memory a quiet process keeps).
  await sleep(60_000);
  sample();
  clearInterval(sampler);
  await killAll();

  const mib = (b: number) => b / 2 ** 20;
  const at = (r: Run, t: number) => r.samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best));
  const summary = runs.map((r) => {
    const warm = at(r, warmS);
    const last = at(r, opt.minutes * 60);
    const after = r.samples[r.samples.length - 1]!;
    const requests = Object.values(r.counts).reduce((a, b) => a + b, 0);
    return { name: r.name, requests, counts: r.counts, warmMiB: mib(warm.rss), endMiB: mib(last.rss), afterMiB: mib(after.rss), growthPct: (100 * (last.rss - warm.rss)) / warm.rss, anonWarmMiB: mib(warm.anon), anonEndMiB: mib(last.anon) };
  });
  const result = { command: COMMAND, options: opt, warmS, load: os.loadavg(), summary, samples: Object.fromEntries(runs.map((r) => [r.name, r.samples])) };
  fs.writeFileSync(path.join(RESULTS, 'workerd-memory.json'), JSON.stringify(result, null, 1));
  const md = [
    '# workerd memory under streaming load, side by side',
    '',
    `\`WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false ${COMMAND}\``,
    '',
    `${opt.minutes} minutes, ${opt.concurrency} closed-loop clients per target, ${opt.abortShare * 100}% of streams left by the client; RSS growth from ${warmS} s to the end; "after" is one idle minute later. Load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join('/')}.`,
    '',
    '| target | requests | RSS warm | RSS end | growth | anon warm -> end | RSS after |',
    '|---|---|---|---|---|---|---|',
    ...summary.map((s) => `| ${s.name} | ${s.requests} | ${s.warmMiB.toFixed(1)} MiB | ${s.endMiB.toFixed(1)} MiB | ${s.growthPct >= 0 ? '+' : ''}${s.growthPct.toFixed(1)}% | ${s.anonWarmMiB.toFixed(1)} -> ${s.anonEndMiB.toFixed(1)} MiB | ${s.afterMiB.toFixed(1)} MiB |`),
    '',
    ...summary.map((s) => `- ${s.name}: ${Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`),
    '',
  ];
  fs.writeFileSync(path.join(RESULTS, 'workerd-memory.md'), md.join('\n'));
  console.log(md.join('\n'));
}

main().catch(async (e: unknown) => {
  console.error(e);
  await killAll();
  process.exit(1);
});
