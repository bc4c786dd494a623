// The simulator's /v1/responses and /v1/embeddings over real sockets: vLLM's shapes, read by the official SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimBackend } from '../../../gpu-backends/simulator/server.ts';
import { EMBEDDING_DIMENSIONS } from '../../../gpu-backends/simulator/embeddings.ts';
import { client, startFast } from './helpers.ts';
import { errorOf } from '../../helpers/responses.ts';

let b: SimBackend;
beforeAll(async () => {
  b = await startFast();
});
afterAll(async () => {
  await b.close();
});

const MODEL = 'llama-3.1-8b';
const post = (path: string, body: unknown) => fetch(`${b.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The fields of a Responses stream event's data that these tests read. */
interface ResponsesEventData {
  type: string;
  sequence_number: number;
  delta?: string;
  text?: string;
  response?: { status: string; output: { content: { text: string }[] }[]; usage: { output_tokens: number } | null };
}

/** Parses an SSE text into (event, data) pairs. */
function events(text: string): { event: string; data: ResponsesEventData }[] {
  return text
    .trim()
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      return { event: lines.find((l) => l.startsWith('event: '))!.slice(7), data: JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)) as ResponsesEventData };
    });
}

describe('/v1/responses', () => {
  it('answers whole, with instructions and input items rendered into the prompt', async () => {
    const r = await client(b).responses.create({
      model: MODEL,
      instructions: 'Be brief.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is a KV cache?' }] }],
      max_output_tokens: 12,
      metadata: { run: 'a' },
      ...({ ignore_eos: true } as object), // vLLM's extension: run to the cap
    });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe('incomplete');
    expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(r.instructions).toBe('Be brief.');
    expect(r.metadata).toEqual({ run: 'a' });
    expect(r.output_text).toHaveLength(48);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(r.usage).toMatchObject({ output_tokens: 12, input_tokens_details: { cached_tokens: 0 } });
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + 12);
    // The same request as chat has the same prompt (vLLM renders Responses input through the chat template).
    const chat = await client(b).chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is a KV cache?' }], max_tokens: 12, ...({ ignore_eos: true } as object) });
    expect(r.usage!.input_tokens).toBe(chat.usage!.prompt_tokens);
    expect(r.output_text).toBe(chat.choices[0]!.message.content);
  });

  it("streams vLLM's event sequence, sequence numbers from 0, ending with response.completed and no [DONE]", async () => {
    const res = await post('/v1/responses', { model: MODEL, input: 'Stream a short answer', stream: true, max_output_tokens: 200 });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).not.toContain('[DONE]');
    const evs = events(text);
    const names = evs.map((e) => e.event);
    expect(names.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(names.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(new Set(names.slice(4, -4))).toEqual(new Set(['response.output_text.delta']));
    evs.forEach((e, i) => {
      expect(e.data.type).toBe(e.event);
      expect(e.data.sequence_number).toBe(i);
    });
    const deltas = evs.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta).join('');
    const last = evs.at(-1)!.data.response;
    expect(last?.status).toBe('completed');
    expect(last?.output[0]?.content[0]?.text).toBe(deltas);
    expect(evs.at(-4)!.data.text).toBe(deltas);
    expect(last?.usage?.output_tokens).toBe(Math.ceil(deltas.length / 4));
    expect(evs[0]!.data.response).toMatchObject({ status: 'in_progress', usage: null, output: [] });
  });

  it('the SDK stream helper accumulates the events into the final response', async () => {
    const stream = client(b).responses.stream({ model: MODEL, input: 'Explain prefix caching', max_output_tokens: 16 });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(deltas);
    expect(final.status).toBe('incomplete');
  });

  it('rejects what vLLM rejects, in its error shape', async () => {
    const missing = await post('/v1/responses', { model: MODEL });
    expect(missing.status).toBe(400);
    const prev = await post('/v1/responses', { model: MODEL, input: 'x', previous_response_id: 'resp_nope' });
    expect(prev.status).toBe(404);
    expect(await prev.json()).toMatchObject({ error: { type: 'NotFoundError', param: 'previous_response_id' } });
  });
});

describe('/v1/embeddings', () => {
  it('deterministic unit vectors from the input, float and base64 alike', async () => {
    const a = await client(b).embeddings.create({ model: MODEL, input: ['the cat sat', 'the cat sat', 'quantum chromodynamics'], encoding_format: 'float' });
    expect(a.object).toBe('list');
    expect(a.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [x, y, z] = a.data.map((d) => d.embedding);
    expect(x).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(y).toEqual(x);
    const dot = (p: number[], q: number[]) => p.reduce((s, v, i) => s + v * q[i]!, 0);
    expect(dot(x!, x!)).toBeCloseTo(1, 5);
    expect(dot(x!, z!)).toBeLessThan(0.5);
    expect(a.usage).toMatchObject({ prompt_tokens: 3 + 3 + 6, total_tokens: 12 });
    // The SDK asks for base64 by default and decodes it: the same vector.
    const b64 = await client(b).embeddings.create({ model: MODEL, input: 'the cat sat' });
    b64.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(x![i]!, 6));
    const near = await client(b).embeddings.create({ model: MODEL, input: 'the cat sat down', encoding_format: 'float' });
    expect(dot(near.data[0]!.embedding, x!)).toBeGreaterThan(0.7);
  });

  it('dimensions cuts and renormalises; token-id inputs work; errors like vLLM', async () => {
    const r = await client(b).embeddings.create({ model: MODEL, input: [[1, 2, 3], [4, 5]], dimensions: 64, encoding_format: 'float' });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]!.embedding).toHaveLength(64);
    expect(r.data[0]!.embedding.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 5);
    expect(r.usage.prompt_tokens).toBe(5);
    const bad = await post('/v1/embeddings', { model: MODEL, input: 'x', dimensions: 100_000 });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).param).toBe('dimensions');
    expect((await post('/v1/embeddings', { model: 'other', input: 'x' })).status).toBe(404);
  });
});
