// The API surface real clients call, inside workerd (vitest-pool-workers) against real simulator processes:
// the Responses API (whole and streamed), embeddings, models by id, 405s, trailing slashes and CORS.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { issuedKeyOf } from '../helpers/responses.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
const MODEL = 'llama-3.1-8b';
const ORIGIN = 'https://chat.example.org';

let key: string;
beforeAll(async () => {
  const config = {
    models: { [MODEL]: { pool: 'gpu' } },
    pools: { gpu: { backends: inject('simUrls').map((url, i) => ({ id: `b${i}`, url })) } },
    health: { probeIntervalMs: 0 },
    cors: { allowOrigins: [ORIGIN], maxAgeSeconds: 300 },
  };
  const put = await SELF.fetch('http://kvroute/admin/tenants/webapp', { method: 'PUT', headers: ADMIN, body: JSON.stringify(config) });
  expect(put.status).toBe(201);
  key = (await issuedKeyOf(await SELF.fetch('http://kvroute/admin/tenants/webapp/keys', { method: 'POST', headers: ADMIN }))).key;
});

const call = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  SELF.fetch(`http://kvroute${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers } });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) => call(path, { method: 'POST', body: JSON.stringify(body), headers });

describe('API surface in workerd', () => {
  it('Responses API, whole and streamed (the stream ends with response.completed, no error event appended)', async () => {
    const whole = await post('/v1/responses', { model: MODEL, instructions: 'Be brief.', input: 'What is a KV cache?', max_output_tokens: 8 });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('x-kvroute-backend')).toMatch(/^b[01]$/);
    const body = (await whole.json<unknown>()) as { object: string; output: { content: { text: string }[] }[]; usage: { input_tokens: number } };
    expect(body.object).toBe('response');
    expect(body.output[0]!.content[0]!.text.length).toBeGreaterThan(0);
    expect(body.usage.input_tokens).toBeGreaterThan(0);

    const streamed = await post('/v1/responses/', { model: MODEL, input: 'Stream it', stream: true, max_output_tokens: 16 });
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    const text = await streamed.text();
    const events = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('response.created');
    expect(events.at(-1)).toBe('response.completed');
    expect(text).not.toContain('upstream_stream_truncated');
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^data: \{.*"type":"response.completed"\}$/);
  });

  it('embeddings are routed and answered', async () => {
    const r = await post('/v1/embeddings', { model: MODEL, input: ['one', 'two'], encoding_format: 'float' });
    expect(r.status).toBe(200);
    const body = (await r.json<unknown>()) as { data: { embedding: number[] }[] };
    expect(body.data.map((d) => d.embedding.length)).toEqual([384, 384]);
  });

  it('models by id, an OpenAI-style 404 for another, 405 with Allow for a wrong method', async () => {
    const m = await call(`/v1/models/${MODEL}`);
    expect(await m.json()).toMatchObject({ id: MODEL, object: 'model', owned_by: 'webapp' });
    const missing = await call('/v1/models/gpt-9');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'model_not_found', type: 'not_found_error', param: 'model' } });
    const wrong = await call('/v1/responses');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  it("CORS: preflight answered for the tenant's origin; the actual response carries the allow and expose headers", async () => {
    const pre = await SELF.fetch('http://kvroute/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(pre.headers.get('access-control-max-age')).toBe('300');
    const refused = await SELF.fetch('http://kvroute/v1/chat/completions', { method: 'OPTIONS', headers: { origin: 'https://other.example', 'access-control-request-method': 'POST' } });
    expect(refused.status).toBe(403);
    const r = await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, user: null, tools: null }, { origin: ORIGIN });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(r.headers.get('access-control-expose-headers')).toContain('x-request-id');
    await r.text();
  });
});
