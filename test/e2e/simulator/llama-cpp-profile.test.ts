// `kvroute sim --profile llama-cpp-32m-cpu` as a real process, seen the way a client and a router see a real
// llama-server: `timings.cache_n` / `timings.prompt_n` in responses (whole and streamed), /metrics in llama.cpp's
// names, and the deferred queue once every slot is busy.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request, type ClientRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, promptOf } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/kvroute.mjs', import.meta.url));
const MODEL = 'llama-3.1-8b';

interface Timings {
  cache_n: number;
  prompt_n: number;
  prompt_ms: number;
  predicted_n: number;
}

let child: ChildProcess;
let url: string;

async function metrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    out.set(name!, Number(value));
  }
  return out;
}

beforeAll(async () => {
  child = spawn(process.execPath, [bin, 'sim', '--profile', 'llama-cpp-32m-cpu', '--backends', '1', '--base-port', '0', '--time-scale', '50'], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await eventually(() => out.includes('ready:'), 600, 50);
  url = out.split('\n').find((l) => l.startsWith('http://'))!;
});

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

describe('llama.cpp profile over HTTP', () => {
  it('answers with timings.cache_n / prompt_n, counts the same in llamacpp:prompt_tokens(_cached)_total', async () => {
    const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim', maxRetries: 0, timeout: 30_000 });
    const before = await metrics();
    const context = promptOf(1600, 'agent-context');
    const first = (await sdk.completions.create({ model: MODEL, prompt: context, max_tokens: 4 })) as unknown as { timings: Timings; usage: { prompt_tokens: number } };
    expect(first.usage.prompt_tokens).toBe(1600);
    expect(first.timings).toMatchObject({ cache_n: 0, prompt_n: 1600, predicted_n: 4 });
    expect(first.timings.prompt_ms).toBeGreaterThan(0);

    // The next turn extends the context: its slot still holds it, so only the new part is processed.
    const stream = await sdk.completions.create({ model: MODEL, prompt: context + promptOf(200, 'tool-output'), max_tokens: 3, stream: true, stream_options: { include_usage: true } });
    let last: { timings?: Timings } | undefined;
    for await (const chunk of stream) last = chunk as unknown as { timings?: Timings };
    const second = last!.timings!;
    expect(second.cache_n).toBe(1600);
    expect(second.prompt_n).toBe(200);

    const after = await metrics();
    const delta = (name: string) => after.get(name)! - (before.get(name) ?? 0);
    expect(delta('llamacpp:prompt_tokens_total')).toBe(1600 + 200);
    expect(delta('llamacpp:prompt_tokens_cached_total')).toBe(1600);
    expect(delta('llamacpp:tokens_predicted_total')).toBe(4 + 3);
    expect(after.get('llamacpp:requests_processing')).toBe(0);
    expect(after.get('llamacpp:requests_deferred')).toBe(0);
    expect(after.get('llamacpp:kv_cache_usage_ratio')).toBeGreaterThan(0);
    expect([...after.keys()].some((k) => k.startsWith('vllm:'))).toBe(false);
  });

  it('past its 4 slots a request is deferred, and /metrics says so', async () => {
    const clients: ClientRequest[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const body = JSON.stringify({ model: MODEL, prompt: promptOf(64, `busy${i}`), max_tokens: 10_000, ignore_eos: true, stream: true }); // fits a 16k-token slot
        const req = request(`${url}/v1/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => res.resume());
        req.on('error', () => undefined);
        req.end(body);
        clients.push(req);
      }
      await eventually(async () => {
        const m = await metrics();
        return m.get('llamacpp:requests_processing') === 4 && m.get('llamacpp:requests_deferred') === 2;
      });
    } finally {
      for (const c of clients) c.destroy();
    }
    // The clients went away: the engine frees their slots and serves the deferred ones' (aborted) places.
    await eventually(async () => (await metrics()).get('llamacpp:requests_processing') === 0);
  });
});
