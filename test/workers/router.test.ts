// Inside the real workerd runtime (vitest-pool-workers): the Worker's fetch handler with its KV and Durable
// Object bindings from wrangler.toml, talking to real simulator processes over loopback.
import { SELF, env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { bodyReader, errorOf, issuedKeyOf, modelIdsOf } from '../helpers/responses.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
const MODEL = 'llama-3.1-8b';

function config(urls: string[]) {
  return {
    models: { [MODEL]: { pool: 'gpu-a' } },
    pools: { 'gpu-a': { backends: urls.map((url, i) => ({ id: `b${i}`, url })) } },
    health: { probeIntervalMs: 0 },
  };
}

async function newTenant(id: string): Promise<string> {
  const put = await SELF.fetch(`http://kvroute/admin/tenants/${id}`, { method: 'PUT', headers: ADMIN, body: JSON.stringify(config(inject('simUrls'))) });
  expect(put.status).toBe(201);
  const key = await SELF.fetch(`http://kvroute/admin/tenants/${id}/keys`, { method: 'POST', headers: ADMIN });
  return (await issuedKeyOf(key)).key;
}

const chat = (key: string, body: unknown) =>
  SELF.fetch('http://kvroute/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('kvroute in workerd', () => {
  let key: string;
  beforeAll(async () => {
    key = await newTenant('acme');
  });

  it('stores the config in the KV binding and the key only as a hash', async () => {
    const rec = (await env.CONFIG.get('tenant:acme', 'json')) as { version: number; config: { models: object } };
    expect(rec.version).toBe(1);
    expect(Object.keys(rec.config.models)).toEqual([MODEL]);
    const { keys } = await env.CONFIG.list({ prefix: 'key:' });
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.name).not.toContain(key);
    const all = await Promise.all(keys.map((k) => env.CONFIG.get(k.name)));
    for (const v of all) expect(v).not.toContain(key);
  });

  it('authenticates: no key 401, wrong key 401, tenant key is not an admin token', async () => {
    expect((await chat('', { model: MODEL, messages: [] })).status).toBe(401);
    expect((await chat('kvr-nope-nope-nope-nope', { model: MODEL, messages: [{ role: 'user', content: 'x' }] })).status).toBe(401);
    const r = await SELF.fetch('http://kvroute/admin/tenants/acme', { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(403);
  });

  it('proxies a chat completion to the simulated backend', async () => {
    const r = await chat(key, { model: MODEL, messages: [{ role: 'user', content: 'Hello from workerd' }], max_tokens: 8 });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-kvroute-backend')).toMatch(/^b[01]$/);
    expect(r.headers.get('x-kvroute-decision')).toContain('pool=gpu-a');
    const body = (await r.json<unknown>()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
  });

  it('passes an SSE stream through chunk by chunk', async () => {
    const r = await chat(key, { model: MODEL, messages: [{ role: 'user', content: 'stream' }], stream: true, max_tokens: 16, ignore_eos: true });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const reader = bodyReader(r);
    const dec = new TextDecoder();
    let reads = 0;
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += dec.decode(value);
    }
    expect(reads).toBeGreaterThan(3);
    expect(text.match(/^data: /gm)!.length).toBeGreaterThanOrEqual(17);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('shapes errors like OpenAI', async () => {
    const bad = await chat(key, '{"model":');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    const field = await chat(key, { model: MODEL, messages: 'nope' });
    expect(field.status).toBe(400);
    expect((await errorOf(field)).param).toBe('messages');
    const unknown = await chat(key, { model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('model_not_found');
  });

  it('admin writes are versioned and If-Match is a real compare-and-swap (via the writer Durable Object)', async () => {
    const body = JSON.stringify(config(inject('simUrls')));
    const ok = await SELF.fetch('http://kvroute/admin/tenants/acme', { method: 'PUT', headers: { ...ADMIN, 'if-match': '"1"' }, body });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    const stale = await SELF.fetch('http://kvroute/admin/tenants/acme', { method: 'PUT', headers: { ...ADMIN, 'if-match': '"1"' }, body });
    expect(stale.status).toBe(412);
    const invalid = await SELF.fetch('http://kvroute/admin/tenants/acme', {
      method: 'PUT',
      headers: ADMIN,
      body: JSON.stringify({ models: {}, pools: { 'gpu-a': { backends: [{ id: 'x', url: 'ftp:/nope' }] } } }),
    });
    expect(invalid.status).toBe(400);
    expect((await errorOf(invalid)).problems).toContain('pools.gpu-a.backends[0].url: Invalid URL');
  });

  it("a tenant's key never reaches another tenant's models", async () => {
    const other = await newTenant('globex');
    await SELF.fetch('http://kvroute/admin/tenants/globex', {
      method: 'PUT',
      headers: ADMIN,
      body: JSON.stringify({ ...config(inject('simUrls')), models: { 'globex-only': { pool: 'gpu-a', model: MODEL } } }),
    });
    const r = await chat(key, { model: 'globex-only', messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(404);
    const models = await SELF.fetch('http://kvroute/v1/models', { headers: { authorization: `Bearer ${other}` } });
    expect(await modelIdsOf(models)).not.toContain(MODEL);
  });
});
