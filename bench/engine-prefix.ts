// Micro-benchmark of the CPU engine (`kvroute engine`, node-llama-cpp, the generated tiny model, 1 thread):
// process start to ready, prefill and decode speed, a 1,600-token prompt cold against the same prompt whose first
// 1,500 tokens a slot already holds (and fully cached), and the engine's memory. Figures are the engine's own
// `timings` (prompt_ms, predicted_ms), medians of --repeats runs; the slot is erased before every cold run.
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/engine-prefix.ts [--repeats 7]
import { readFileSync, writeFileSync } from 'node:fs';
import { startEngineProcesses } from '../gpu-backends/llama-engine/processes.ts';
import type { Timings } from '../gpu-backends/llama-engine/engine.ts';
import { quantile } from './routing-lab/metrics.ts';
import { num, parseFlags } from '../src/util/args.ts';

const f = parseFlags(process.argv.slice(2), { repeats: { type: 'string' }, out: { type: 'string' } });
const repeats = num('repeats', f.repeats, 7);
const out = f.out ?? 'bench/results/engine-prefix.json';

/** `n` characters of varied printable text; with the byte vocabulary a character is a token. */
function text(n: number, salt: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `w${((i * 2654435761 + salt) >>> 0).toString(36)} `;
  return s.slice(0, n);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function complete(url: string, prompt: string, maxTokens: number): Promise<Timings & { prompt_tokens: number }> {
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: maxTokens }) });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  const body = (await res.json<unknown>()) as { timings: Timings; usage: { prompt_tokens: number } };
  return { ...body.timings, prompt_tokens: body.usage.prompt_tokens };
}

async function erase(url: string): Promise<void> {
  const r = await fetch(`${url}/slots/0?action=erase`, { method: 'POST' });
  if (!r.ok) throw new Error(`erase: ${r.status} ${await r.text()}`);
}

const median = (xs: number[]) => quantile(xs, 0.5);

const startMs: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const e = await startEngineProcesses(1, { slots: 1, threads: 1, context: 4096 });
  startMs.push(performance.now() - t0);
  await e.close();
}

const engine = await startEngineProcesses(1, { slots: 1, threads: 1, context: 4096 });
const url = engine.urls[0]!;
const pid = engine.pids[0]!;
const rssIdle = rssMb(pid);
try {
  await complete(url, text(200, 99), 4); // warm up
  const cold: number[] = [];
  const coldN: number[] = [];
  const warm: number[] = [];
  const warmN: number[] = [];
  const full: number[] = [];
  const decode: number[] = [];
  for (let r = 0; r < repeats; r++) {
    // 1,600 tokens = BOS + the sentencepiece space + 1,598 characters; the first 1,500 are the shared prefix.
    const prefix = text(1_500, r);
    const prompt = prefix + text(98, 1_000 + r);
    await erase(url);
    const c = await complete(url, prompt, 1);
    cold.push(c.prompt_ms);
    coldN.push(c.prompt_n);
    await erase(url);
    await complete(url, prefix, 1);
    const w = await complete(url, prompt, 1);
    warm.push(w.prompt_ms);
    warmN.push(w.prompt_n);
    full.push((await complete(url, prompt, 1)).prompt_ms);
    decode.push((await complete(url, text(64, 7_000 + r), 128)).predicted_per_second);
    if (c.prompt_tokens !== 1_600) throw new Error(`expected a 1,600-token prompt, got ${c.prompt_tokens}`);
  }
  const rssAfter = rssMb(pid);
  const results = {
    command: `npx tsx bench/engine-prefix.ts --repeats ${repeats}`,
    machine: { cpus: (await import('node:os')).cpus().length, loadAverage: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))) },
    startToReadyMs: startMs.map(Math.round),
    prompt1600: {
      coldMs: median(cold),
      coldEvaluated: median(coldN),
      prefixCachedMs: median(warm),
      prefixCachedEvaluated: median(warmN),
      fullyCachedMs: median(full),
      speedup: median(cold) / median(warm),
    },
    prefillTokensPerSecond: 1_600 / (median(cold) / 1000),
    decodeTokensPerSecond: median(decode),
    rssMb: { idle: Math.round(rssIdle), afterBench: Math.round(rssAfter) },
  };
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`| measure (1 thread, median of ${repeats}) | value |`);
  console.log('|---|---|');
  console.log(`| engine process start to ready (3 starts) | ${results.startToReadyMs.join(', ')} ms |`);
  console.log(`| 1,600-token prompt, cold | ${median(cold).toFixed(1)} ms (${median(coldN)} tokens evaluated) |`);
  console.log(`| same prompt, its first 1,502 tokens cached in the slot | ${median(warm).toFixed(1)} ms (${median(warmN)} evaluated), ${results.prompt1600.speedup.toFixed(1)}x faster |`);
  console.log(`| same prompt again (all but the last token cached) | ${median(full).toFixed(1)} ms |`);
  console.log(`| prefill | ${Math.round(results.prefillTokensPerSecond)} tokens/s |`);
  console.log(`| decode (128 tokens) | ${Math.round(results.decodeTokensPerSecond)} tokens/s |`);
  console.log(`| engine RSS, idle / after the bench (1 slot x 4,096 tokens) | ${results.rssMb.idle} / ${results.rssMb.afterBench} MB |`);
  console.log(`machine: ${results.machine.cpus} CPUs, load average ${results.machine.loadAverage.join(' ')}; written to ${out}`);
} finally {
  await engine.close();
}
