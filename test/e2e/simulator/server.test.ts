// The simulated vLLM backend over real sockets, driven by the official openai SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import type { SimBackend } from '../../../gpu-backends/simulator/server.ts';
import { client, metric, postJson, promptOf, startFast } from './helpers.ts';

let b: SimBackend;
beforeAll(async () => {
  b = await startFast();
});
afterAll(async () => {
  await b.close();
});

describe('OpenAI surface through the openai SDK', () => {
  it('chat completion, non-streaming', async () => {
    const r = await client(b).chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 12 });
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.choices[0]!.message.role).toBe('assistant');
    expect(r.choices[0]!.message.content).toHaveLength(48);
    expect(r.usage).toMatchObject({ completion_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } });
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + 12);
  });

  it('chat completion, streaming with include_usage: same text, final usage chunk, [DONE]', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about caches' }];
    const whole = await client(b).chat.completions.create({ model: 'llama-3.1-8b', messages, max_tokens: 30 });
    const stream = await client(b).chat.completions.create({ model: 'llama-3.1-8b', messages, max_tokens: 30, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let roles = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.delta.role) roles++;
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe(whole.choices[0]!.finish_reason);
    expect(roles).toBe(1);
    expect(usage).toMatchObject({ completion_tokens: whole.usage!.completion_tokens, prompt_tokens: whole.usage!.prompt_tokens });
    expect(usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0); // same prompt as the call before
    expect(chunks).toBe(1 + whole.usage!.completion_tokens + 1); // role, one per token, usage
  });

  it('completions, streaming and not', async () => {
    const c = client(b);
    const whole = await c.completions.create({ model: 'llama-3.1-8b', prompt: 'Once upon a time', max_tokens: 8 });
    expect(whole.object).toBe('text_completion');
    expect(whole.choices[0]!.text).toHaveLength(32);
    expect(whole.choices[0]!.finish_reason).toBe('length');
    const stream = await c.completions.create({ model: 'llama-3.1-8b', prompt: 'Once upon a time', max_tokens: 8, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(whole.choices[0]!.text);
  });

  it('models, health, and a natural stop', async () => {
    const models = await client(b).models.list();
    expect(models.data.map((m) => m.id)).toEqual(['llama-3.1-8b']);
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
    const r = await client(b).chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'short' }], max_tokens: 5000 });
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage!.completion_tokens).toBeLessThan(5000);
  });

  it('piggy-backs engine load on responses', async () => {
    const res = await postJson(b, '/v1/completions', { prompt: 'x', max_tokens: 2 });
    expect(res.headers.get('x-sim-running')).toMatch(/^\d+$/);
    expect(res.headers.get('x-sim-waiting')).toMatch(/^\d+$/);
    expect(Number(res.headers.get('x-sim-kv-usage'))).toBeGreaterThanOrEqual(0);
  });
});

describe('answers', () => {
  it('are deterministic per (seed, prompt), and two models agree on the configured share', async () => {
    const a = await startFast({ output: { seed: 1, agreement: 0.5 } });
    const a2 = await startFast({ output: { seed: 1, agreement: 0.5 } });
    const c = await startFast({ output: { seed: 2, agreement: 0.5 } });
    try {
      const answer = async (x: SimBackend, prompt: string) =>
        ((await (await postJson(x, '/v1/completions', { prompt, max_tokens: 8 })).json<unknown>()) as OpenAI.Completion).choices[0]!.text;
      let agree = 0;
      for (let i = 0; i < 40; i++) {
        const prompt = `question ${i}`;
        const [ra, ra2, rc] = await Promise.all([answer(a, prompt), answer(a2, prompt), answer(c, prompt)]);
        expect(ra2).toBe(ra);
        if (rc === ra) agree++;
      }
      expect(agree).toBeGreaterThan(10);
      expect(agree).toBeLessThan(30);
    } finally {
      await Promise.all([a.close(), a2.close(), c.close()]);
    }
  });
});

describe('prefix caching seen from outside', () => {
  it('the same 8k-token prompt twice: second TTFT at most a quarter of the first, hits counted', async () => {
    const prompt = promptOf(8192, 'eight-k');
    const hits0 = await metric(b, 'vllm:prefix_cache_hits_total');
    const first = await postJson(b, '/v1/completions', { prompt, max_tokens: 4 });
    const hits1 = await metric(b, 'vllm:prefix_cache_hits_total');
    const second = await postJson(b, '/v1/completions', { prompt, max_tokens: 4 });
    const hits2 = await metric(b, 'vllm:prefix_cache_hits_total');
    const ttft1 = Number(first.headers.get('x-sim-ttft-ms'));
    const ttft2 = Number(second.headers.get('x-sim-ttft-ms'));
    expect(ttft2).toBeLessThanOrEqual(ttft1 / 4);
    expect(hits1 - hits0).toBe(0);
    expect(hits2 - hits1).toBe(8192 - 16);
    expect(((await second.json<unknown>()) as OpenAI.Completion).usage?.prompt_tokens_details?.cached_tokens).toBe(8192 - 16);
  });

  it('a second chat turn hits the first turn\'s prompt and answer', async () => {
    const sdk = client(b);
    const q1 = { role: 'user' as const, content: promptOf(600, 'conversation') };
    const t1 = await sdk.chat.completions.create({ model: 'llama-3.1-8b', messages: [q1], max_tokens: 200, ...({ ignore_eos: true } as object) });
    const a1 = t1.choices[0]!.message.content;
    const t2 = await sdk.chat.completions.create({
      model: 'llama-3.1-8b',
      messages: [q1, { role: 'assistant', content: a1 }, { role: 'user', content: 'and then?' }],
      max_tokens: 4,
    });
    const cached = t2.usage?.prompt_tokens_details?.cached_tokens;
    expect(cached).toBeGreaterThan(t1.usage!.prompt_tokens + 150);
  });

  it('/metrics has vLLM names and types', async () => {
    const text = await (await fetch(`${b.url}/metrics`)).text();
    for (const line of [
      '# TYPE vllm:num_requests_running gauge',
      '# TYPE vllm:num_requests_waiting gauge',
      '# TYPE vllm:kv_cache_usage_perc gauge',
      '# TYPE vllm:prefix_cache_queries_total counter',
      '# TYPE vllm:prefix_cache_hits_total counter',
      '# TYPE vllm:prompt_tokens_total counter',
      '# TYPE vllm:generation_tokens_total counter',
      '# TYPE vllm:time_to_first_token_seconds histogram',
      '# TYPE vllm:e2e_request_latency_seconds histogram',
    ]) {
      expect(text).toContain(line);
    }
    expect(await metric(b, 'vllm:time_to_first_token_seconds_count')).toBeGreaterThan(0);
    expect(text).toMatch(/vllm:time_to_first_token_seconds_bucket\{engine="0",model_name="llama-3.1-8b",le="\+Inf"\}/);
  });
});

describe('bad requests get OpenAI-style errors', () => {
  const cases: [string, string, unknown, number, string | null][] = [
    ['invalid JSON', '/v1/chat/completions', '{"messages": [', 400, null],
    ['no messages', '/v1/chat/completions', { messages: [] }, 400, 'messages'],
    ['wrong type', '/v1/chat/completions', { messages: 'hi' }, 400, 'messages'],
    ['max_tokens 0', '/v1/completions', { prompt: 'x', max_tokens: 0 }, 400, 'max_tokens'],
    ['stream_options without stream', '/v1/completions', { prompt: 'x', stream_options: { include_usage: true } }, 400, 'stream_options'],
    ['unknown model', '/v1/completions', { model: 'gpt-9', prompt: 'x' }, 404, 'model'],
    ['prompt beyond the context length', '/v1/completions', { prompt: 'y'.repeat(4 * 140_000), max_tokens: 1 }, 400, null],
  ];
  for (const [name, path, body, status, param] of cases) {
    it(name, async () => {
      const res = await postJson(b, path, body);
      expect(res.status).toBe(status);
      const json = (await res.json<unknown>()) as { error: { message: string; type: string; param: string | null; code: number } };
      expect(json.error.message.length).toBeGreaterThan(0);
      expect(json.error.type).toBe(status === 404 ? 'NotFoundError' : 'BadRequestError');
      expect(json.error.code).toBe(status);
      expect(json.error.param).toBe(param);
    });
  }

  it('the SDK surfaces them as typed errors', async () => {
    await expect(client(b).completions.create({ model: 'llama-3.1-8b', prompt: 'x', max_tokens: 0 })).rejects.toMatchObject({ status: 400 });
  });
});
