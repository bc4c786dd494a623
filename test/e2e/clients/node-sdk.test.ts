// The official Node `openai` SDK against a real Node router and real simulator processes: every call the SDK
// makes by default (chat, completions, the Responses API, embeddings, models) plus the HTTP details browsers and
// other clients rely on (trailing slashes, 405, nulls, CORS, one error shape).
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringContaining } from '../../helpers/matchers.ts';
import { ALLOWED_ORIGIN, KEY, MODEL, OTHER_KEY, simCounts, startClientsRig, type ClientsRig } from './setup.ts';

let rig: ClientsRig;
beforeAll(async () => {
  rig = await startClientsRig();
}, 60_000);
afterAll(async () => {
  await rig?.stop();
});

const client = (apiKey = KEY) => new OpenAI({ baseURL: `${rig.router.url}/v1`, apiKey, maxRetries: 0, timeout: 20_000 });
const raw = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(`${rig.router.url}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...init.headers } });
const eventually = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
};

describe('Node openai SDK through kvroute', () => {
  it('Responses API, whole: routed like chat, usage to analytics', async () => {
    const { data, response } = await client()
      .responses.create({ model: MODEL, instructions: 'Answer briefly and precisely. '.repeat(40), input: 'What is a KV cache?', max_output_tokens: 16 }, { headers: { 'x-request-id': 'node-resp-1' } })
      .withResponse();
    expect(data.object).toBe('response');
    expect(data.output_text.length).toBeGreaterThan(0);
    expect(response.headers.get('x-kvroute-backend')).toMatch(/^b[01]$/);
    expect(response.headers.get('x-kvroute-decision')).toMatch(/pool=gpu;.*prefix=\d+/);
    const [ev] = await rig.events(['node-resp-1']);
    expect(ev).toMatchObject({ status: 200, error_class: '', prompt_tokens: data.usage!.input_tokens, completion_tokens: data.usage!.output_tokens });
    expect(ev!.finish_reason).toBe(data.status === 'completed' ? 'stop' : 'length');
  });

  it('Responses API, streamed: every event relayed unchanged, ends with response.completed (not called truncated)', async () => {
    const stream = await client().responses.create(
      { model: MODEL, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Stream about caches' }] }], stream: true, max_output_tokens: 40 },
      { headers: { 'x-request-id': 'node-resp-2' } },
    );
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).not.toContain('error');
    expect(text.length).toBeGreaterThan(0);
    const [ev] = await rig.events(['node-resp-2']);
    expect(ev).toMatchObject({ stream: 1, error_class: '' });
    expect(Number(ev!.completion_tokens)).toBe(Math.ceil(text.length / 4));
    // The SDK's stream helper (the Agents SDK's path) accumulates the same events into one response.
    const final = await client().responses.stream({ model: MODEL, input: 'again', max_output_tokens: 8 }).finalResponse();
    expect(final.output_text.length).toBeGreaterThan(0);
  });

  it('embeddings: base64 by default (decoded by the SDK) and float, routed like the others', async () => {
    const { data: b64, response } = await client().embeddings.create({ model: MODEL, input: ['a first document', 'a second one'] }).withResponse();
    expect(b64.data).toHaveLength(2);
    expect(b64.data[0]!.embedding).toHaveLength(384);
    expect(response.headers.get('x-kvroute-backend')).toMatch(/^b[01]$/);
    const f = await client().embeddings.create({ model: MODEL, input: 'a first document', encoding_format: 'float' });
    f.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(b64.data[0]!.embedding[i]!, 6));
  });

  it('models.list and models.retrieve (names with slashes too); an unknown model is an OpenAI-style 404', async () => {
    expect((await client().models.list()).data.map((m) => m.id)).toEqual(['llama-3.1-8b', 'org/alias-model']);
    expect(await client().models.retrieve(MODEL)).toMatchObject({ id: MODEL, object: 'model', owned_by: 'acme' });
    expect((await client().models.retrieve('org/alias-model')).id).toBe('org/alias-model');
    const err = await client().models.retrieve('gpt-9').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('model_not_found');
  });

  it("a backend's 400 reaches the client in OpenAI's shape (BadRequestError, string code, message kept)", async () => {
    const err = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], n: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    const { status, error } = err as BadRequestError;
    expect(status).toBe(400);
    expect(error).toEqual({ message: 'The simulator supports n=1 only.', type: 'invalid_request_error', param: 'n', code: 'upstream_400' });
    const body = await (await raw('/v1/embeddings', { method: 'POST', body: JSON.stringify({ model: MODEL, input: 'x', dimensions: 99_999 }) })).json();
    expect(body).toEqual({ error: { message: stringContaining('dimensions'), type: 'invalid_request_error', param: 'dimensions', code: 'upstream_400' } });
  });

  it('null optional fields are accepted and forwarded', async () => {
    const nulls = { user: null, tools: null, tool_choice: null, response_format: null, stop: null, logprobs: null, seed: null, temperature: null };
    const chat = await raw('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...nulls }) });
    expect(chat.status).toBe(200);
    const resp = await raw('/v1/responses', { method: 'POST', body: JSON.stringify({ model: MODEL, input: 'hi', instructions: null, user: null, tools: null, max_output_tokens: 4 }) });
    expect(resp.status).toBe(200);
  });

  it('trailing slashes work on every route; a wrong method is a 405 with Allow', async () => {
    for (const [path, body] of [
      ['/v1/chat/completions/', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }],
      ['/v1/completions/', { model: MODEL, prompt: 'hi', max_tokens: 4 }],
      ['/v1/responses/', { model: MODEL, input: 'hi', max_output_tokens: 4 }],
      ['/v1/embeddings/', { model: MODEL, input: 'hi' }],
    ] as const) {
      const r = await raw(path, { method: 'POST', body: JSON.stringify(body) });
      expect(r.status, path).toBe(200);
    }
    expect((await raw('/v1/models/')).status).toBe(200);
    const wrong = await raw('/v1/chat/completions');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'method_not_allowed', param: null } });
    const put = await raw('/v1/models', { method: 'DELETE' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect((await raw('/v1/nothing-here', { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('CORS: preflight for an origin some tenant allows; actual responses only for the tenant that allows it', async () => {
    const preflight = await fetch(`${rig.router.url}/v1/responses`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-stainless-os');
    expect(preflight.headers.get('access-control-max-age')).toBe('120');
    const stranger = await fetch(`${rig.router.url}/v1/responses`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    const ok = await raw('/v1/chat/completions', { method: 'POST', body, headers: { origin: ALLOWED_ORIGIN } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(ok.headers.get('access-control-expose-headers')).toContain('x-kvroute-decision');
    expect(ok.headers.get('vary')).toContain('Origin');
    const streamed = await raw('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ ...JSON.parse(body), stream: true }), headers: { origin: ALLOWED_ORIGIN } });
    expect(streamed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    await streamed.text();
    const models = await raw('/v1/models', { headers: { origin: ALLOWED_ORIGIN } });
    expect(models.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    // Another tenant's key: that tenant allows no origin.
    const other = await raw('/v1/chat/completions', { method: 'POST', body, headers: { origin: ALLOWED_ORIGIN, authorization: `Bearer ${OTHER_KEY}` } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // A wrong key from a known origin: the page can read the 401.
    const bad = await raw('/v1/chat/completions', { method: 'POST', body, headers: { origin: ALLOWED_ORIGIN, authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    const badElsewhere = await raw('/v1/chat/completions', { method: 'POST', body, headers: { origin: 'https://evil.example', authorization: 'Bearer nope' } });
    expect(badElsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('closing a stream mid-way cancels the request on the backend', async () => {
    const before = await simCounts(rig.pool);
    const stream = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'long' }], stream: true, max_tokens: 4_000, ...({ ignore_eos: true } as object) });
    let chunks = 0;
    for await (const _ of stream) if (++chunks === 3) break; // leaving the loop aborts the HTTP request
    await eventually(async () => {
      const now = await simCounts(rig.pool);
      return now.inFlight === 0 && now.aborted === before.aborted + 1;
    });
  });
});
