// Two real engines started through the CLI (`kvroute engine`, node-llama-cpp on the CPU, the generated tiny
// model): the OpenAI surface shaped like llama-server's, and cache receipts that are the engine's own facts: on a
// repeated prefix, usage.prompt_tokens_details.cached_tokens = timings.cache_n > 0, and the prompt tokens the
// engine counts in llamacpp:prompt_tokens_total grow by exactly the tokens it did not serve from cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineProcesses, type EngineProcesses } from '../../../gpu-backends/llama-engine/processes.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { bodyReader, errorOf } from '../../helpers/responses.ts';
import { stringMatching } from '../../helpers/matchers.ts';
import { engineMetrics, post, sseData, TEST_MODELS_DIR, type ChatAnswer, type ChatChunk, type CompletionAnswer } from './helpers.ts';

let engines: EngineProcesses;
let A: string;
let B: string;

beforeAll(async () => {
  engines = await startEngineProcesses(2, { slots: 2, threads: 1, context: 1024, modelsDir: TEST_MODELS_DIR });
  [A, B] = engines.urls as [string, string];
}, 180_000);
afterAll(() => engines?.close());

const system = { role: 'system', content: 'You are a terse assistant for a routing test. Answer in one short line. '.repeat(3) };
const turn1 = [system, { role: 'user', content: 'What is a KV cache?' }];
const turn2 = [...turn1, { role: 'assistant', content: 'Saved attention keys and values.' }, { role: 'user', content: 'And a prefix?' }];

/** A slot in /slots (llama-server's server_slot::to_json); the task fields are there once it has run a task. */
interface SlotJson {
  id: number;
  is_processing: boolean;
  id_task?: number;
  n_prompt_tokens: number;
  n_prompt_tokens_processed: number;
  n_prompt_tokens_cache: number;
  params: { n_predict: number };
  next_token: { has_next_token: boolean; n_decoded: number; n_remain: number };
}

/** Sends a request and checks it against the engine's counters: what /metrics says was evaluated is prompt_n. */
async function measured(url: string, path: string, body: object) {
  const before = await engineMetrics(url);
  const res = await post(url, path, body);
  const text = await res.text();
  const after = await engineMetrics(url);
  return { res, text, evaluated: after.prompt_tokens_total! - before.prompt_tokens_total!, predicted: after.tokens_predicted_total! - before.tokens_predicted_total! };
}

describe('kvroute engine (node-llama-cpp, generated model)', () => {
  it('is healthy and lists its model', async () => {
    for (const url of [A, B]) {
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const models = (await (await fetch(`${url}/v1/models`)).json<unknown>()) as { object: string; data: { id: string; owned_by: string; meta: Record<string, number> }[] };
      expect(models.object).toBe('list');
      expect(models.data[0]!.owned_by).toBe('llamacpp');
      expect(models.data[0]!.meta.n_vocab).toBe(260);
    }
  });

  it('chat: a repeated prefix is served from the slot cache, and the receipts agree with /metrics', async () => {
    const first = await measured(A, '/v1/chat/completions', { model: 'm', messages: turn1, max_tokens: 4 });
    expect(first.res.status).toBe(200);
    const one = JSON.parse(first.text) as ChatAnswer;
    expect(one).toMatchObject({ object: 'chat.completion', model: 'm', choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant' } }] });
    expect(one.id).toMatch(/^chatcmpl-/);
    expect(one.choices[0]!.message.content.length).toBeGreaterThan(0);
    expect(one.usage).toMatchObject({ completion_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } });
    expect(one.usage.total_tokens).toBe(one.usage.prompt_tokens + 4);
    expect(one.timings).toMatchObject({ cache_n: 0, prompt_n: one.usage.prompt_tokens, predicted_n: 4 });
    expect(first.evaluated).toBe(one.usage.prompt_tokens);
    expect(first.predicted).toBe(4);

    // The next turn extends the first: only the new part is evaluated.
    const second = await measured(A, '/v1/chat/completions', { model: 'm', messages: turn2, max_tokens: 3 });
    const two = JSON.parse(second.text) as ChatAnswer;
    const cached = two.usage.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThan(one.usage.prompt_tokens / 2);
    expect(two.timings.cache_n).toBe(cached);
    expect(two.timings.prompt_n).toBe(two.usage.prompt_tokens - cached);
    expect(second.evaluated).toBe(two.usage.prompt_tokens - cached);

    // Caches are per engine process: B has never seen this prefix.
    const onB = JSON.parse((await measured(B, '/v1/chat/completions', { messages: turn2, max_tokens: 1 })).text) as ChatAnswer;
    expect(onB.usage.prompt_tokens).toBe(two.usage.prompt_tokens);
    expect(onB.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('chat stream: llama-server chunks ending with [DONE], usage and timings on the last chunk', async () => {
    const r = await measured(A, '/v1/chat/completions', { messages: turn2, max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    expect(r.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseData(r.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as ChatChunk[];
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: null });
    const content = chunks.filter((c) => c.choices[0]?.delta?.content);
    expect(content.length).toBe(5);
    const finish = chunks.at(-2)!;
    expect(finish.choices[0]).toMatchObject({ finish_reason: 'length', delta: {} });
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBe(5);
    expect(last.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(last.timings.cache_n).toBe(last.usage.prompt_tokens_details.cached_tokens);
    expect(r.evaluated).toBe(last.usage.prompt_tokens - last.timings.cache_n);
    for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', id: chunks[0]!.id });
    // Without include_usage the timings still close the stream, so the router can read the receipt either way.
    const plain = sseData(await (await post(A, '/v1/chat/completions', { messages: turn2, max_tokens: 2, stream: true })).text());
    const closing = plain.at(-2) as ChatChunk;
    expect(closing.choices[0]!.finish_reason).toBe('length');
    expect(closing.usage).toBeUndefined();
    expect(closing.timings.cache_n).toBeGreaterThan(0);
  });

  it('completions, whole and streamed, with text and token-id prompts', async () => {
    const prompt = 'Routing puts each conversation where its prefix is already cached. '.repeat(4);
    const first = JSON.parse((await measured(B, '/v1/completions', { prompt, max_tokens: 6 })).text) as CompletionAnswer;
    expect(first).toMatchObject({ object: 'text_completion', choices: [{ index: 0, logprobs: null, finish_reason: 'length' }], usage: { completion_tokens: 6 } });
    expect(first.choices[0]!.text.length).toBeGreaterThan(0);

    const r = await measured(B, '/v1/completions', { prompt: prompt + 'Then it answers.', max_tokens: 3, stream: true });
    const events = sseData(r.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as CompletionAnswer[];
    expect(chunks.slice(0, -1).map((c) => c.choices[0]!.finish_reason)).toEqual([null, null, null]);
    const last = chunks.at(-1)!;
    expect(last.choices[0]).toMatchObject({ text: '', finish_reason: 'length' });
    expect(last.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(first.usage.prompt_tokens / 2);
    expect(r.evaluated).toBe(last.usage.prompt_tokens - last.usage.prompt_tokens_details.cached_tokens);

    const ids = JSON.parse((await measured(B, '/v1/completions', { prompt: [1, 40, 41, 42, 43], max_tokens: 2 })).text) as CompletionAnswer;
    expect(ids.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 2 });
    // Without max_tokens, completions generate OpenAI's default of 16.
    expect((JSON.parse((await measured(B, '/v1/completions', { prompt: 'x' })).text) as CompletionAnswer).usage.completion_tokens).toBe(16);
  });

  it('ends at a stop string, which is not part of the text', async () => {
    const body = { prompt: 'Stop strings end generation early. ', max_tokens: 12 };
    await post(A, '/v1/completions', body); // now cached: the runs below compute the same way (one token evaluated)
    const free = JSON.parse(await (await post(A, '/v1/completions', body)).text()) as CompletionAnswer;
    const text = free.choices[0]!.text;
    expect(text.length).toBe(12);
    const stop = text.slice(3, 5);
    const cut = JSON.parse(await (await post(A, '/v1/completions', { ...body, stop: [stop] })).text()) as CompletionAnswer;
    expect(cut.choices[0]).toMatchObject({ text: text.slice(0, text.indexOf(stop)), finish_reason: 'stop' });
    const streamed = sseData(await (await post(A, '/v1/completions', { ...body, stop, stream: true })).text()).slice(0, -1) as CompletionAnswer[];
    expect(streamed.map((c) => c.choices[0]!.text).join('')).toBe(text.slice(0, text.indexOf(stop)));
    expect(streamed.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('/slots shows each slot and its last task; /metrics carries the llama.cpp gauges', async () => {
    const slots = (await (await fetch(`${A}/slots`)).json<unknown>()) as SlotJson[];
    expect(slots.map((s) => s.id)).toEqual([0, 1]);
    for (const s of slots) expect(s).toMatchObject({ n_ctx: 1024, speculative: false, is_processing: false });
    const used = slots.filter((s) => s.id_task !== undefined);
    expect(used.length).toBeGreaterThan(0);
    for (const s of used) {
      expect(s.n_prompt_tokens_processed + s.n_prompt_tokens_cache).toBe(s.n_prompt_tokens);
      expect(s.next_token.has_next_token).toBe(false);
      expect(s.next_token.n_decoded + s.next_token.n_remain).toBe(s.params.n_predict);
    }
    const m = await engineMetrics(A);
    expect(m).toMatchObject({ requests_processing: 0, requests_deferred: 0 });
    expect(m.kv_cache_tokens).toBeGreaterThan(0);
    expect(m.kv_cache_usage_ratio).toBeCloseTo(m.kv_cache_tokens! / (2 * 1024), 5);

    // llama-server's slot erase drops a slot's cached prefix.
    const erase = await post(A, `/slots/${used[0]!.id}?action=erase`, {});
    expect(erase.status).toBe(200);
    const erased = (await erase.json<unknown>()) as { id_slot: number; n_erased: number };
    expect(erased.id_slot).toBe(used[0]!.id);
    expect(erased.n_erased).toBeGreaterThan(0);
    expect((await engineMetrics(A)).kv_cache_tokens).toBe(m.kv_cache_tokens! - erased.n_erased);
    expect((await post(A, '/slots/0?action=save', { filename: 'x' })).status).toBe(501);
  });

  it('defers requests while both slots are busy, and frees a slot when its client goes away', async () => {
    const long = (i: number) => post(B, '/v1/completions', { prompt: `request ${i} `.repeat(20), max_tokens: 400 }).then((r) => r.text());
    const running = [long(1), long(2), long(3)];
    const seen = await pollUntil(() => engineMetrics(B), (m) => m.requests_processing === 2 && m.requests_deferred === 1, 30_000);
    expect(seen).toMatchObject({ requests_processing: 2, requests_deferred: 1 });
    expect(((await (await fetch(`${B}/slots`)).json<unknown>()) as { is_processing: boolean }[]).every((s) => s.is_processing)).toBe(true);
    await Promise.all(running);

    const before = (await engineMetrics(B)).tokens_predicted_total!;
    const abort = new AbortController();
    const res = await fetch(`${B}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'abandon me', max_tokens: 1000, stream: true }), signal: abort.signal });
    await bodyReader(res).read();
    abort.abort();
    const idle = await pollUntil(() => engineMetrics(B), (m) => m.requests_processing === 0, 30_000);
    expect(idle?.requests_processing).toBe(0);
    // It stopped generating when the client left, far short of its 1000 tokens.
    expect((await engineMetrics(B)).tokens_predicted_total! - before).toBeLessThan(1000);
  });

  it('refuses bad requests with an OpenAI-style error that names the field', async () => {
    const bad = await post(A, '/v1/chat/completions', { messages: [] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { message: stringMatching(/^messages: /), type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } });
    const tooLong = await post(A, '/v1/completions', { prompt: 'x'.repeat(1100), max_tokens: 1 });
    expect(tooLong.status).toBe(400);
    expect(await errorOf(tooLong)).toMatchObject({ type: 'exceed_context_size_error', code: 'context_length_exceeded' });
    const notJson = await fetch(`${A}/v1/completions`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).code).toBe('invalid_json');
    const badToken = await post(A, '/v1/completions', { prompt: [99999] });
    expect((await errorOf(badToken)).param).toBe('prompt');
    expect((await fetch(`${A}/v2/nothing`)).status).toBe(404);
    // The engine is still fine.
    expect((await post(A, '/v1/completions', { prompt: 'ok', max_tokens: 1 })).status).toBe(200);
  });
});
