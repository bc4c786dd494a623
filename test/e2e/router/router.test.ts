// End to end on Node: real simulator processes (`kvroute sim`), the router on real sockets, the official openai
// SDK as the client. Faults come from the simulator's fault injection.
import OpenAI, { APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { metricValue, startSimPool, type SimPool } from '../../helpers/sim-pool.ts';
import { anyOf } from '../../helpers/matchers.ts';
import { errorOf } from '../../helpers/responses.ts';

const KEY = 'sk-e2e-acme-0123456789';
const OTHER_KEY = 'sk-e2e-globex-0123456789';
const MODEL = 'llama-3.1-8b';

let pool: SimPool;
let router: NodeRouter;
let store: MemoryTenantStore;

async function configure(urls: string[], extra: Record<string, unknown> = {}) {
  const parsed = parseTenantConfig({
    models: { [MODEL]: { pool: 'gpu-a' } },
    pools: { 'gpu-a': { backends: urls.map((url, i) => ({ id: `b${i}`, url })) } },
    timeouts: { connectMs: 500, firstByteMs: 2_000, idleMs: 1_500 },
    retry: { maxAttempts: 3, deadlineMs: 10_000, maxRetryAfterMs: 200 },
    health: { failureThreshold: 100, cooldownMs: 1_000, probeIntervalMs: 0 },
    ...extra,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  await store.putTenant('acme', parsed.value);
  router.platform.directory.invalidate();
}

const client = () => new OpenAI({ baseURL: `${router.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20_000 });
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  messages: [{ role: 'user' as const, content }],
  max_tokens: 24,
  ...extra,
});
/** vLLM's `ignore_eos` (unknown to kvroute, passed through unchanged) makes the answer run to max_tokens. */
const long = (content: string, maxTokens: number, extra: Record<string, unknown> = {}) =>
  ask(content, { stream: true, max_tokens: maxTokens, ignore_eos: true, ...extra }) as OpenAI.ChatCompletionCreateParamsStreaming;

beforeAll(async () => {
  pool = await startSimPool(3, ['--time-scale', '20']);
  store = new MemoryTenantStore();
  router = await startNodeRouter({ store, probes: false, cacheTtlMs: 60_000 });
  await configure(pool.urls);
  await store.putKey({ keyId: 'k1', tenantId: 'acme', hash: await sha256Hex(KEY), createdAt: new Date().toISOString() });
  const other = parseTenantConfig({ models: { 'globex-model': { pool: 'p' } }, pools: { p: { backends: [{ id: 'g', url: pool.urls[2]! }] } } });
  if (!other.ok) throw new Error('bad');
  await store.putTenant('globex', other.value);
  await store.putKey({ keyId: 'k2', tenantId: 'globex', hash: await sha256Hex(OTHER_KEY), createdAt: new Date().toISOString() });
}, 60_000);

afterAll(async () => {
  await router?.close();
  await pool?.stop();
});

afterEach(async () => {
  for (let i = 0; i < pool.urls.length; i++) await pool.setFaults(i, {});
  await configure(pool.urls);
});

describe('router on Node with the openai SDK', () => {
  it('serves a non-streaming chat completion and says how it routed', async () => {
    const { data, response } = await client().chat.completions.create(ask('Hello there'), { headers: { 'x-request-id': 'req-abc-1' } }).withResponse();
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-request-id')).toBe('req-abc-1');
    expect(response.headers.get('x-kvroute-backend')).toMatch(/^b[0-2]$/);
    expect(response.headers.get('x-kvroute-decision')).toMatch(/pool=gpu-a;backend=b[0-2];policy=prefix-affinity;/);
    expect(response.headers.get('server-timing')).toMatch(/router;dur=[\d.]+/);
    expect(Number(response.headers.get('x-kvroute-overhead-ms'))).toBeGreaterThanOrEqual(0);
  });

  it('a single Node router places as the only router from its first request, though its engines report no load', async () => {
    // openai-compatible: no engine load at all, only the router's own in-flight count.
    await configure(pool.urls, { pools: { 'gpu-a': { backends: pool.urls.map((url, i) => ({ id: `b${i}`, url, engine: 'openai-compatible' })) } } });
    const { response } = await client().chat.completions.create(ask(`A task for an agent. ${'Context line. '.repeat(120)}`)).withResponse();
    // Where its prefill ends soonest, as only a lone router can tell; one of many would place by rendezvous ('new').
    expect(response.headers.get('x-kvroute-decision')).toMatch(/;reason=least-prefill;/);
  });

  it('streams chunk by chunk, with the final usage chunk when asked', async () => {
    const stream = await client().chat.completions.create({ ...ask('Stream please'), stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let usage: unknown = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text.length).toBeGreaterThan(0);
    expect(usage).toMatchObject({ completion_tokens: anyOf(Number) });
  });

  it('serves /v1/completions and /v1/models', async () => {
    const c = await client().completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8 });
    expect(c.choices[0]!.text.length).toBeGreaterThan(0);
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('a backend that refuses connections is retried elsewhere without a client error', async () => {
    // Refuse for 60 s simulated (3 s of wall time at time scale 20), then come back.
    await pool.setFaults(0, { refuseConnections: { ms: 60_000 } });
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const { data, response } = await client().chat.completions.create(ask(`question ${i} ${'x'.repeat(600)}`)).withResponse();
      expect(data.choices[0]!.message.content).toBeTruthy();
      seen.add(response.headers.get('x-kvroute-backend')!);
    }
    expect(seen.has('b0')).toBe(false);
  });

  it('5xx and 429 answers are retried on another backend', async () => {
    await pool.setFaults(0, { error: { rate: 1, status: 503 } });
    await pool.setFaults(1, { rateLimit: { rate: 1, retryAfterSeconds: 0 } });
    for (let i = 0; i < 6; i++) {
      const { response } = await client().chat.completions.create(ask(`retry ${i} ${'y'.repeat(600)}`)).withResponse();
      expect(response.headers.get('x-kvroute-backend')).toBe('b2');
    }
  });

  it('fails over when the first token does not come within the first-byte timeout', async () => {
    await configure(pool.urls, { timeouts: { connectMs: 500, firstByteMs: 400, idleMs: 1_500 } });
    await pool.setFaults(0, { stallBeforeFirstToken: { rate: 1, ms: 200_000 } });
    await pool.setFaults(1, { stallBeforeFirstToken: { rate: 1, ms: 200_000 } });
    const { data, response } = await client().chat.completions.create(ask('slow?', { stream: false })).withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get('x-kvroute-backend')).toBe('b2');
    expect(response.headers.get('x-kvroute-decision')).toMatch(/attempt=[23]/);
  });

  it('a backend dying mid-stream ends the stream with an OpenAI-style error event', async () => {
    await configure([pool.urls[0]!]);
    await pool.setFaults(0, { dieMidStream: { rate: 1, afterTokens: 10 } });
    const stream = await client().chat.completions.create(long('die please', 50));
    let got = 0;
    const err = await (async () => {
      try {
        for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) got++;
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(got).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(APIError);
    expect(String((err as APIError).message)).toMatch(/mid-stream|incomplete/);
  });

  it('a stall mid-stream hits the idle timeout and ends with an error event', async () => {
    await configure([pool.urls[0]!]);
    await pool.setFaults(0, { stallMidStream: { rate: 1, ms: 200_000, afterTokens: 2 } });
    const stream = await client().chat.completions.create(long('stall please', 50));
    await expect(async () => {
      for await (const _ of stream);
    }).rejects.toThrow(/stalled/);
  });

  it('a client abort cancels the request on the backend', async () => {
    await configure([pool.urls[1]!]);
    const before = metricValue(await pool.metrics(1), 'vllm:request_success_total', 'finished_reason="abort"');
    const ac = new AbortController();
    const stream = await client().chat.completions.create(long('long answer', 4000), { signal: ac.signal });
    let n = 0;
    // The SDK ends the iteration quietly on abort; what matters is that the backend stops generating.
    try {
      for await (const _ of stream) if (++n === 3) ac.abort();
    } catch {
      // an AbortError is fine too
    }
    expect(n).toBeLessThan(100);
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = metricValue(await pool.metrics(1), 'vllm:request_success_total', 'finished_reason="abort"');
    }
    expect(after).toBe(before + 1);
    expect(metricValue(await pool.metrics(1), 'vllm:num_requests_running')).toBe(0);
  });

  it('keeps the connection warm with SSE comments while the first token is slow', async () => {
    await configure([pool.urls[0]!], { stream: { keepaliveMs: 50 } });
    await pool.setFaults(0, { stallBeforeFirstToken: { rate: 1, ms: 6_000 } });
    const res = await fetch(`${router.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(long('warm?', 5)),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text.startsWith(': keepalive')).toBe(true);
    expect(text).toContain('data: [DONE]');
  });
});

describe('bad input gets a clear 4xx', () => {
  const post = (body: string, key = KEY, path = '/v1/chat/completions') =>
    fetch(`${router.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });

  it('not JSON', async () => {
    const r = await post('{"model": ');
    expect(r.status).toBe(400);
    expect((await errorOf(r)).code).toBe('invalid_json');
  });

  it('wrong types name the field', async () => {
    const r = await post(JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 'ten' }));
    expect(r.status).toBe(400);
    const e = await errorOf(r);
    expect(e.param).toBe('max_tokens');
    expect(e.message).toContain('max_tokens');
  });

  it('oversized bodies get 413', async () => {
    await configure(pool.urls, { limits: { maxBodyBytes: 1000 } });
    const r = await post(JSON.stringify(ask('z'.repeat(5000))));
    expect(r.status).toBe(413);
    expect((await errorOf(r)).code).toBe('request_too_large');
  });

  it('unknown key gets 401, missing key 401', async () => {
    expect((await post(JSON.stringify(ask('x')), 'sk-nobody-0000000000')).status).toBe(401);
    const r = await fetch(`${router.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(ask('x')) });
    expect(r.status).toBe(401);
  });

  it("another tenant's model is not found", async () => {
    const r = await post(JSON.stringify({ ...ask('x'), model: 'globex-model' }));
    expect(r.status).toBe(404);
    const r2 = await post(JSON.stringify(ask('x')), OTHER_KEY);
    expect(r2.status).toBe(404);
  });

  it('unknown routes get an OpenAI-style 404', async () => {
    const r = await fetch(`${router.url}/v1/nope`);
    expect(r.status).toBe(404);
    expect((await errorOf(r)).type).toBe('not_found_error');
  });
});
