// Every injected fault does what it says, over real sockets. Assertions are on status codes, bytes received and
// simulated times, never on wall-clock durations.
import { afterEach, describe, expect, it } from 'vitest';
import type { SimBackend, SimBackendOptions } from '../../../gpu-backends/simulator/server.ts';
import { client, eventually, postJson, startFast, state } from './helpers.ts';
import { bodyReader, errorOf } from '../../helpers/responses.ts';

const open: SimBackend[] = [];
async function backend(opts: SimBackendOptions = {}): Promise<SimBackend> {
  const b = await startFast(opts);
  open.push(b);
  return b;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

/** Reads an SSE response body, counting token chunks, until the stream ends or fails. */
async function readStream(res: Response, onChunk?: (tokens: number) => void): Promise<{ tokens: number; done: boolean; failed: boolean }> {
  const reader = bodyReader(res);
  const decoder = new TextDecoder();
  let buffer = '';
  let tokens = 0;
  let done = false;
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const data = event.replace(/^data: /, '');
        if (data === '[DONE]') done = true;
        else if ((JSON.parse(data) as { choices?: { text?: string }[] }).choices?.[0]?.text !== undefined) {
          tokens++;
          onChunk?.(tokens);
        }
      }
    }
    return { tokens, done, failed: false };
  } catch {
    return { tokens, done, failed: true };
  }
}

const streamBody = (maxTokens: number) => ({ prompt: 'stream me', max_tokens: maxTokens, ignore_eos: true, stream: true });

describe('fault injection', () => {
  it('error: 5xx before any work, at the configured rate', async () => {
    const b = await backend({ faults: { error: { rate: 1, status: 503 } } });
    await expect(client(b).completions.create({ model: 'llama-3.1-8b', prompt: 'x' })).rejects.toMatchObject({ status: 503 });
    b.setFaults({ error: { rate: 0.5 } });
    let errors = 0;
    for (let i = 0; i < 40; i++) if ((await postJson(b, '/v1/completions', { prompt: 'x', max_tokens: 1 })).status === 500) errors++;
    expect(errors).toBeGreaterThan(8);
    expect(errors).toBeLessThan(32);
    expect((await state(b)).prefixCacheQueries).toBe(40 - errors); // 1-token prompts; failed requests never reached the engine
  });

  it('rateLimit: 429 with Retry-After', async () => {
    const b = await backend({ faults: { rateLimit: { rate: 1, retryAfterSeconds: 3 } } });
    const res = await postJson(b, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect((await errorOf(res)).code).toBe('rate_limit_exceeded');
  });

  it('stallBeforeFirstToken: the first token comes that much later (simulated time)', async () => {
    const b = await backend();
    const base = Number((await postJson(b, '/v1/completions', { prompt: 'a', max_tokens: 2 })).headers.get('x-sim-ttft-ms'));
    b.setFaults({ stallBeforeFirstToken: { ms: 3000 } });
    const stalled = Number((await postJson(b, '/v1/completions', { prompt: 'b', max_tokens: 2 })).headers.get('x-sim-ttft-ms'));
    expect(base).toBeLessThan(100);
    expect(stalled).toBeGreaterThanOrEqual(3000);
  });

  it('stallMidStream: tokens after the stall point are withheld while the engine has finished', async () => {
    const b = await backend({ faults: { stallMidStream: { ms: 1e9, afterTokens: 2 } } });
    const ac = new AbortController();
    const res = await fetch(`${b.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(streamBody(6)), signal: ac.signal });
    let seen = 0;
    const reading = readStream(res, (n) => (seen = n));
    await eventually(async () => (await state(b)).finished.length === 1);
    expect(seen).toBe(2);
    ac.abort();
    expect((await reading).done).toBe(false);
  });

  it('stallMidStream: a short stall delays but delivers everything', async () => {
    const b = await backend({ faults: { stallMidStream: { ms: 500, afterTokens: 3 } } });
    const out = await readStream(await postJson(b, '/v1/completions', streamBody(8)));
    expect(out).toEqual({ tokens: 8, done: true, failed: false });
  });

  it('dieMidStream: the socket is destroyed after N tokens and the engine aborts the request', async () => {
    const b = await backend({ faults: { dieMidStream: { afterTokens: 3 } } });
    // A long generation: the engine is still working on it when the socket dies, so it is aborted there.
    const out = await readStream(await postJson(b, '/v1/completions', streamBody(100_000)));
    expect(out).toEqual({ tokens: 3, done: false, failed: true });
    await eventually(async () => (await state(b)).finished.abort === 1);
    const stream = await client(b).chat.completions.create({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'x' }], max_tokens: 50, stream: true, ...({ ignore_eos: true } as object) });
    await expect((async () => { for await (const _ of stream); })()).rejects.toThrow();
    await expect(postJson(b, '/v1/completions', { prompt: 'x', max_tokens: 50, ignore_eos: true })).rejects.toThrow();
    // Short generations may complete inside the engine in the same instant the socket dies; either way
    // nothing is left running.
    await eventually(async () => {
      const s = await state(b);
      return s.running === 0 && s.waiting === 0 && s.finished.abort + s.finished.length + s.finished.stop === 3;
    });
  });

  it('slowDecode: every step takes factor times longer', async () => {
    const b = await backend();
    const decodeMs = async (prompt: string) => {
      const res = await postJson(b, '/v1/completions', { prompt, max_tokens: 40, ignore_eos: true });
      return Number(res.headers.get('x-sim-e2e-ms')) - Number(res.headers.get('x-sim-ttft-ms'));
    };
    const base = await decodeMs('same prompt');
    b.setFaults({ slowDecode: { factor: 4 } });
    const slow = await decodeMs('same prompt');
    expect(slow / base).toBeCloseTo(4, 1);
  });

  it('refuseConnections: connections are refused until cleared, or until `ms` has passed', async () => {
    const b = await backend();
    b.setFaults({ refuseConnections: {} });
    await expect(fetch(`${b.url}/health`)).rejects.toThrow();
    b.setFaults({});
    await eventually(async () => (await fetch(`${b.url}/health`).catch(() => null))?.status === 200);
    b.setFaults({ refuseConnections: { ms: 1000 } });
    await expect(fetch(`${b.url}/health`)).rejects.toThrow();
    await eventually(async () => (await fetch(`${b.url}/health`).catch(() => null))?.status === 200);
    expect(b.getFaults().refuseConnections).toBeUndefined();
  });

  it('admin endpoint: set, read, reject invalid faults', async () => {
    const b = await backend();
    const set = await postJson(b, '/admin/faults', { rateLimit: { rate: 1 } });
    expect(set.status).toBe(200);
    expect(await (await fetch(`${b.url}/admin/faults`)).json()).toEqual({ rateLimit: { rate: 1, retryAfterSeconds: 1 } });
    expect((await postJson(b, '/v1/completions', { prompt: 'x' })).status).toBe(429);
    expect((await postJson(b, '/admin/faults', { error: { rate: 2 } })).status).toBe(400);
    expect((await postJson(b, '/admin/faults', { bogus: {} })).status).toBe(400);
    expect((await postJson(b, '/admin/faults', {})).status).toBe(200);
    expect((await postJson(b, '/v1/completions', { prompt: 'x', max_tokens: 1 })).status).toBe(200);
  });

  it('a client that goes away frees its engine slot', async () => {
    const b = await backend({ timeScale: 1 });
    const ac = new AbortController();
    const res = await fetch(`${b.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(streamBody(100_000)), signal: ac.signal });
    const reading = readStream(res, (n) => {
      if (n === 2) ac.abort();
    });
    await reading;
    await eventually(async () => (await state(b)).finished.abort === 1);
    expect((await state(b)).running).toBe(0);
  });
});
