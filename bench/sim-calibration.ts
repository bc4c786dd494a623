// Calibration figures of the simulated vLLM backend (docs/simulator.md, "Measured").
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/sim-calibration.ts
// 1. Over HTTP, time scale 1, openai SDK streaming: the same 8k-token prompt twice on an idle backend (TTFT
//    from the backend's TTFT histogram in simulated time and as the client saw it, prefix-cache hit delta).
// 2. Pure engine, simulated time: TTFT against prompt length, cold and half cached.
// 3. Pure engine, simulated time: open-loop Poisson arrivals at increasing rates (1024-token unique prompts,
//    256 output tokens): output throughput and the waiting queue.
import OpenAI from 'openai';
import { Engine, type EngineEvent } from '../gpu-backends/simulator/engine.ts';
import { DEFAULT_PROFILE, engineConfig } from '../gpu-backends/simulator/profiles.ts';
import { startSimBackend, type SimBackend } from '../gpu-backends/simulator/server.ts';
import { promptBlockHashes } from '../gpu-backends/simulator/tokenizer.ts';
import { fmix32, unitFloat } from '../src/util/hash.ts';

const profile = process.argv[2] ?? DEFAULT_PROFILE;

function text(tokens: number, tag: string): string {
  let s = '';
  for (let i = 0; s.length < tokens * 4; i++) s += `${tag}-${i.toString(36)} `;
  return s.slice(0, tokens * 4);
}

async function metric(b: SimBackend, name: string): Promise<number> {
  const body = await (await fetch(`${b.url}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

async function repeatedPrompt(): Promise<void> {
  const b = await startSimBackend({ port: 0, profile, timeScale: 1 });
  const sdk = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: 'sim', maxRetries: 0 });
  const prompt = text(8192, 'calibration');
  const rows: { ttftSim: number; ttftWall: number; hits: number; cached: number }[] = [];
  for (let i = 0; i < 2; i++) {
    const ttftSum0 = await metric(b, 'vllm:time_to_first_token_seconds_sum');
    const hits0 = await metric(b, 'vllm:prefix_cache_hits_total');
    const t0 = performance.now();
    let ttftWall = NaN;
    let cached = NaN;
    const stream = await sdk.completions.create({ model: 'llama-3.1-8b', prompt, max_tokens: 16, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      if (Number.isNaN(ttftWall) && chunk.choices[0]?.text) ttftWall = performance.now() - t0;
      if (chunk.usage) cached = (chunk.usage as { prompt_tokens_details?: { cached_tokens: number } }).prompt_tokens_details?.cached_tokens ?? NaN;
    }
    const ttftSim = ((await metric(b, 'vllm:time_to_first_token_seconds_sum')) - ttftSum0) * 1000;
    rows.push({ ttftSim, ttftWall, hits: (await metric(b, 'vllm:prefix_cache_hits_total')) - hits0, cached });
    await new Promise((r) => setTimeout(r, 200)); // idle between the two
  }
  await b.close();
  console.log(`## 1. Same 8192-token prompt twice, one idle backend (profile ${profile}, HTTP, time scale 1, openai SDK streaming)`);
  console.log('| request | TTFT (simulated) | TTFT seen by the client (wall) | prefix-cache hits delta | usage cached_tokens |');
  console.log('|---|---|---|---|---|');
  rows.forEach((r, i) => console.log(`| ${i + 1} | ${r.ttftSim.toFixed(1)} ms | ${r.ttftWall.toFixed(1)} ms | ${r.hits} | ${r.cached} |`));
  console.log(`ratio TTFT2/TTFT1 (simulated): ${(rows[1]!.ttftSim / rows[0]!.ttftSim).toFixed(3)}\n`);
}

function ttftAgainstLength(): void {
  console.log(`## 2. TTFT of one request on an idle engine (simulated ms)`);
  console.log('| prompt tokens | cold | half cached | all but the last block cached |');
  console.log('|---|---|---|---|');
  for (const tokens of [512, 2048, 8192, 16384, 32768]) {
    const cold = new Engine(engineConfig(profile));
    const full = text(tokens, `len${tokens}`);
    const once = (e: Engine, t: string, at: number) => {
      const { tokens: n, blockHashes } = promptBlockHashes(t);
      e.submit({ id: `r${at}`, blockHashes, promptTokens: n, maxTokens: 1 }, at);
      for (let next = e.nextEventTime(); next !== undefined; next = e.nextEventTime()) {
        const ev = e.advanceTo(next).find((x) => x.kind === 'first_token');
        if (ev) {
          e.advanceTo(Infinity);
          return ev.time - at;
        }
      }
      return NaN;
    };
    const c = once(cold, full, 0);
    const halfEngine = new Engine(engineConfig(profile));
    once(halfEngine, full.slice(0, full.length / 2), 0);
    const half = once(halfEngine, full, 100_000);
    const warm = once(cold, full, 100_000);
    console.log(`| ${tokens} | ${c.toFixed(1)} | ${half.toFixed(1)} | ${warm.toFixed(1)} |`);
  }
  console.log('');
}

function saturationSweep(): void {
  const durationMs = 120_000;
  const promptTokens = 1024;
  const outputTokens = 256;
  console.log(`## 3. Saturation sweep (profile ${profile}; open-loop Poisson arrivals for ${durationMs / 1000} s of simulated time; unique ${promptTokens}-token prompts, ${outputTokens} output tokens)`);
  console.log('| arrivals/s | output tok/s | running (mean) | waiting (mean) | waiting at end | TTFT p50 (ms) | TTFT p99 (ms) | KV usage at end | preemptions |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const rate of [1, 2, 4, 8, 12, 16, 20, 24, 32, 48]) {
    const engine = new Engine(engineConfig(profile));
    const arrivals = new Map<string, number>();
    const ttft: number[] = [];
    let generated = 0;
    let waitingIntegral = 0;
    let runningIntegral = 0;
    let lastT = 0;
    const consume = (events: EngineEvent[]) => {
      for (const e of events) {
        if (e.kind === 'first_token') {
          ttft.push(e.time - arrivals.get(e.id)!);
          if (e.time <= durationMs) generated++;
        } else if (e.kind === 'tokens' && e.time <= durationMs) generated += e.count;
      }
    };
    const sample = (t: number) => {
      const s = engine.snapshot();
      waitingIntegral += s.waiting * (t - lastT);
      runningIntegral += s.running * (t - lastT);
      lastT = t;
    };
    let t = 0;
    for (let i = 0; ; i++) {
      t += (-Math.log(1 - unitFloat(fmix32(i * 2654435761 + rate))) * 1000) / rate;
      if (t >= durationMs) break;
      for (let next = engine.nextEventTime(); next !== undefined && next <= t; next = engine.nextEventTime()) {
        sample(next);
        consume(engine.advanceTo(next));
      }
      sample(t);
      const { tokens, blockHashes } = promptBlockHashes(text(promptTokens, `u${rate}-${i}`));
      arrivals.set(`r${i}`, t);
      engine.submit({ id: `r${i}`, blockHashes, promptTokens: tokens, maxTokens: outputTokens }, t);
    }
    for (let next = engine.nextEventTime(); next !== undefined && next <= durationMs; next = engine.nextEventTime()) {
      sample(next);
      consume(engine.advanceTo(next));
    }
    sample(durationMs);
    consume(engine.advanceTo(durationMs));
    const end = engine.snapshot();
    ttft.sort((a, b) => a - b);
    const q = (p: number) => (ttft.length ? ttft[Math.min(ttft.length - 1, Math.floor(p * ttft.length))]! : NaN);
    console.log(
      `| ${rate} | ${(generated / (durationMs / 1000)).toFixed(0)} | ${(runningIntegral / durationMs).toFixed(1)} | ${(waitingIntegral / durationMs).toFixed(1)} | ${end.waiting} | ${q(0.5).toFixed(0)} | ${q(0.99).toFixed(0)} | ${end.kvUsage.toFixed(2)} | ${end.preemptions} |`,
    );
  }
}

await repeatedPrompt();
ttftAgainstLength();
saturationSweep();
