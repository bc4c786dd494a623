// The request path end to end in one process: handleInference -> forward -> breaker -> relay, against a scripted
// upstream, with time driven by fake timers (see test/helpers/request-harness.ts).
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMPLETION, JSON_HEAD, SSE, drain, harness, settle, sseBody, type Answer } from '../../helpers/request-harness.ts';
import { requestEventOf } from '../../../src/core/request-event.ts';

afterEach(() => {
  vi.useRealTimers();
});

const CHAT = { model: 'm', messages: [{ role: 'user', content: 'hello' }] };
const STREAM = { ...CHAT, stream: true };
const ok: Answer = { status: 200, headers: JSON_HEAD, body: [COMPLETION] };
const okStream: Answer = { status: 200, headers: SSE, body: sseBody(3) };

describe('breaker through the request path', () => {
  it('a half-open trial that the client aborts hands the trial on, and the backend comes back (probes off)', async () => {
    // b0 fails three times (ejected), then streams slowly; b1 is always fine.
    const h = await harness(2, (url, k) => (url === 'http://b0' ? (k < 3 ? { refuse: true } : { status: 200, headers: SSE, body: sseBody(50, 100) }) : ok), {
      retry: { maxAttempts: 1 },
      health: { probeIntervalMs: 0, cooldownMs: 1_000 },
      affinity: { policy: 'round-robin' },
    });
    const b0 = h.states.get('http://b0').breaker;
    while (b0.state === 'closed') await settle(h.request(CHAT).catch(() => null));
    expect(b0.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1_100);
    // The trial: a stream that the client abandons after its first chunk.
    let ac = new AbortController();
    let trial = null;
    for (let i = 0; i < 4 && !trial; i++) {
      ac = new AbortController();
      const r = await settle(h.request(STREAM, { signal: ac.signal }).catch(() => null));
      if (r && r.headers['x-kvroute-backend'] === 'b0') trial = r;
      else if (r) await settle(drain(r));
    }
    expect(trial).not.toBeNull();
    expect(b0.state).toBe('half-open');
    ac.abort(); // the runtime never calls cancel() (workerd may not): the request's signal alone ends the stream
    await vi.advanceTimersByTimeAsync(10);
    expect(h.inflight()).toBe(0);
    expect(b0.allows(performance.now())).toBe(true); // not stuck: the next request is the trial
    // A completed stream on b0 closes the circuit.
    for (let i = 0; i < 4 && (b0.state as string) !== 'closed'; i++) await settle(h.request(STREAM).then(drain));
    expect(b0.state as string).toBe('closed');
  });

  for (const [what, trialAnswer, expected] of [
    ['429', { status: 429, headers: { ...JSON_HEAD, 'retry-after': '30' }, body: ['{}'] }, 'half-open'],
    ['501 (a 5xx outside retryOnStatus)', { status: 501, headers: JSON_HEAD, body: ['{"error":"nope"}'] }, 'open'],
    ['400', { status: 400, headers: JSON_HEAD, body: ['{"error":"bad"}'] }, 'half-open'],
  ] as [string, Answer, string][]) {
    it(`a half-open trial that ends in ${what} leaves the breaker ${expected}, never stuck`, async () => {
      const h = await harness(1, (_url, k) => (k < 3 ? { refuse: true } : trialAnswer), { retry: { maxAttempts: 1 }, health: { probeIntervalMs: 0, cooldownMs: 1_000 } });
      const b = h.states.get('http://b0').breaker;
      for (let i = 0; i < 3; i++) await settle(h.request(CHAT).catch(() => null));
      expect(b.state).toBe('open');
      await vi.advanceTimersByTimeAsync(1_100);
      await settle(h.request(CHAT).then(drain).catch(() => null));
      expect(b.state).toBe(expected);
      expect(h.inflight()).toBe(0);
      // Either way a request can get through again once any new ejection has run out.
      await vi.advanceTimersByTimeAsync(5_000);
      expect(b.allows(performance.now())).toBe(true);
    });
  }

  it('streams that break after the first byte eject the backend; traffic moves to the healthy one', async () => {
    const dying: Answer = { status: 200, headers: SSE, body: ['data: {"choices":[{"delta":{"content":"a"}}]}\n\n', { fail: 'connection reset' }] };
    const h = await harness(2, (url) => (url === 'http://b0' ? dying : okStream), { affinity: { policy: 'least-loaded' }, health: { probeIntervalMs: 0, cooldownMs: 10_000 } });
    const served: Record<string, number> = { b0: 0, b1: 0 };
    for (let i = 0; i < 40; i++) {
      const r = await settle(h.request(STREAM));
      served[r.headers['x-kvroute-backend']!]!++;
      await settle(drain(r));
    }
    expect(h.states.get('http://b0').breaker.state).toBe('open');
    expect(served.b0).toBeLessThanOrEqual(3);
    expect(served.b1).toBeGreaterThanOrEqual(37);
    expect(h.inflight()).toBe(0);
  });
});

describe('keep-alive commits the response only when the first keep-alive is due', () => {
  const cfg = { stream: { keepaliveMs: 1_000 } };

  it('a fast backend error keeps its real status and an OpenAI-style body', async () => {
    const h = await harness(1, () => ({ status: 400, headers: JSON_HEAD, body: ['{"error":{"message":"bad","type":"BadRequestError"}}'] }), cfg);
    const r = await settle(h.request(STREAM));
    expect(r.status).toBe(400);
    expect(r.headers['x-kvroute-backend']).toBe('b0');
  });

  it('a fast stream keeps the routing headers and Server-Timing', async () => {
    const h = await harness(1, () => okStream, cfg);
    const r = await settle(h.request(STREAM));
    expect(r.status).toBe(200);
    expect(r.headers['x-kvroute-backend']).toBe('b0');
    expect(r.headers['x-kvroute-decision']).toContain('pool=p');
    expect(r.headers['server-timing']).toContain('router;dur=');
    expect(await settle(drain(r))).toContain('data: [DONE]');
  });

  it('a slow first token gets the stream committed with a keep-alive, then the data', async () => {
    const h = await harness(1, () => ({ ...okStream, headMs: 3_500 }), cfg);
    const r = await settle(h.request(STREAM));
    expect(r.status).toBe(200);
    expect(r.headers['x-kvroute-backend']).toBeUndefined();
    const text = await settle(drain(r));
    expect(text.startsWith(': keepalive\n\n')).toBe(true);
    expect(text.match(/: keepalive/g)!.length).toBeGreaterThanOrEqual(3);
    expect(text).toContain('data: [DONE]');
  });

  it('a client that leaves while the stream is committed but not started releases everything', async () => {
    const h = await harness(1, () => ({ ...okStream, headMs: 60_000 }), cfg);
    const ac = new AbortController();
    const r = await settle(h.request(STREAM, { signal: ac.signal }));
    expect(h.inflight()).toBe(1);
    ac.abort();
    await vi.advanceTimersByTimeAsync(10);
    expect(h.inflight()).toBe(0);
    expect(h.upstream.open).toBe(0);
    expect('stream' in r).toBe(true);
  });
});

describe('relay idle timeout', () => {
  it('a slow client (backpressure) is not an upstream stall', async () => {
    const h = await harness(1, () => okStream, { timeouts: { idleMs: 1_000 } });
    const r = await settle(h.request(STREAM));
    if (!('stream' in r)) throw new Error('expected a stream');
    const dec = new TextDecoder();
    let text = '';
    for (;;) {
      await vi.advanceTimersByTimeAsync(2_500); // the client reads one chunk every 2.5 s
      const c = await r.stream.next();
      if (!c) break;
      text += dec.decode(c);
    }
    expect(text).not.toContain('upstream_stream_timeout');
    expect(text).toContain('data: [DONE]');
    expect(h.records[0]!.outcome).toBe('completed');
  });

  it('an upstream that stalls mid-stream ends with a timeout event and counts against the backend', async () => {
    const h = await harness(1, () => ({ status: 200, headers: SSE, body: ['data: {"choices":[]}\n\n', 'stall'] }), { timeouts: { idleMs: 1_000 } });
    const r = await settle(h.request(STREAM));
    const text = await settle(drain(r));
    expect(text).toContain('upstream_stream_timeout');
    expect(h.records[0]!.outcome).toBe('idle_timeout');
    expect(h.states.get('http://b0').breaker.failures).toBe(1);
    expect(h.inflight()).toBe(0);
  });
});

describe('the client signal', () => {
  it('holds no listener of a stream once the stream has ended (workerd keeps a request signal alive natively)', async () => {
    const h = await harness(1, () => okStream);
    const ac = new AbortController();
    const r = await settle(h.request(STREAM, { signal: ac.signal }));
    await settle(drain(r));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('buffered answers', () => {
  const half = COMPLETION.slice(0, 20);
  it('a JSON body that declares more than its first chunk and then stalls ends with a timeout, not a hang', async () => {
    const h = await harness(1, () => ({ status: 200, headers: { ...JSON_HEAD, 'content-length': String(COMPLETION.length) }, body: [half, 'stall'] }), {
      timeouts: { idleMs: 1_000 },
      retry: { maxAttempts: 1 },
    });
    const err = await settle(h.request(CHAT).then(() => null, (e: unknown) => e as { status: number; message: string }));
    expect(err?.status).toBe(502);
    expect(err?.message).toContain('no data for 1000 ms');
    expect(h.inflight()).toBe(0);
  });

  it('a JSON body that came whole with its declared length is answered as sent', async () => {
    const h = await harness(1, () => ({ status: 200, headers: { ...JSON_HEAD, 'content-length': String(COMPLETION.length) }, body: [COMPLETION] }), { timeouts: { idleMs: 1_000 } });
    const r = await settle(h.request(CHAT));
    expect('body' in r && JSON.parse(r.body)).toEqual(JSON.parse(COMPLETION));
    expect(h.records[0]!.outcome).toBe('completed');
    expect(h.inflight()).toBe(0);
  });

  it('a JSON body complete at its declared length is answered without waiting to hear the body end', async () => {
    // The upstream has sent every declared byte but its reader never says `done` (no idle timer would end it).
    const h = await harness(1, () => ({ status: 200, headers: { ...JSON_HEAD, 'content-length': String(COMPLETION.length) }, body: [COMPLETION, 'stall'] }), {
      timeouts: { idleMs: 60_000 },
    });
    const answer = h.request(CHAT).then((r) => ('body' in r ? r.body : null));
    await vi.advanceTimersByTimeAsync(10);
    const body = await Promise.race([answer, Promise.resolve('still waiting')]);
    expect(body === 'still waiting' ? body : JSON.parse(body ?? 'null')).toEqual(JSON.parse(COMPLETION));
    expect(h.records[0]!.outcome).toBe('completed');
    expect(h.inflight()).toBe(0);
  });
});

describe('an encoded buffered answer', () => {
  it('is read to its end even when its first decoded chunk has the declared (compressed) length', async () => {
    // fetch decompresses a gzip body; Content-Length counts the compressed bytes, which can equal a decoded chunk.
    const [head, tail] = [COMPLETION.slice(0, 40), COMPLETION.slice(40)];
    const h = await harness(1, () => ({ status: 200, headers: { ...JSON_HEAD, 'content-length': '40', 'content-encoding': 'gzip' }, body: [head, tail] }));
    const r = await settle(h.request(CHAT));
    expect('body' in r && JSON.parse(r.body)).toEqual(JSON.parse(COMPLETION));
  });
});

describe('a client whose departure is never reported', () => {
  it('a stream nobody takes data from ends as a client abort after clientReadMs, releasing the backend', async () => {
    const h = await harness(1, () => ({ status: 200, headers: SSE, body: sseBody(200, 10) }), { timeouts: { clientReadMs: 5_000 } });
    const r = await settle(h.request(STREAM));
    if (!('stream' in r)) throw new Error('expected a stream');
    expect(await r.stream.next()).not.toBeNull(); // the client reads once, then is silently gone
    await vi.advanceTimersByTimeAsync(4_000);
    expect(h.inflight()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(h.inflight()).toBe(0);
    expect(h.upstream.open).toBe(0);
    expect(h.records[0]!.outcome).toBe('client_abort');
    expect(h.states.get('http://b0').breaker.failures).toBe(0);
  });
});

describe('a request whose context the runtime dropped', () => {
  it("its backend slot comes back after the lease ttl, from the next request's work, and it is recorded", async () => {
    const h = await harness(1, (_url, k) => (k === 0 ? { status: 200, headers: SSE, body: sseBody(200, 10) } : okStream), {
      timeouts: { idleMs: 1_000, clientReadMs: 2_000 },
    });
    const r = await settle(h.request(STREAM));
    if (!('stream' in r)) throw new Error('expected a stream');
    await r.stream.next();
    vi.clearAllTimers(); // workerd dropped the request: none of its timers or callbacks will ever run again
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.inflight()).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000); // past idleMs + clientReadMs + the grace
    await settle(h.request(STREAM).then(drain)); // any later request takes the expired slot back
    expect(h.inflight()).toBe(0);
    expect(h.records.map((x) => x.outcome).sort()).toEqual(['client_abort', 'completed']);
  });
});

describe('Retry-After and client aborts', () => {
  it('a client that leaves during a Retry-After wait ends the request at once', async () => {
    const h = await harness(2, (url) => (url === 'http://b0' ? { status: 429, headers: { ...JSON_HEAD, 'retry-after': '2' }, body: ['{}'] } : ok), {
      affinity: { policy: 'round-robin' },
      retry: { maxRetryAfterMs: 5_000 },
    });
    // Find a request that lands on b0 first (round-robin alternates).
    for (let i = 0; i < 2; i++) {
      const ac = new AbortController();
      const p = h.request(CHAT, { signal: ac.signal });
      let settled = false;
      p.then(() => (settled = true), () => (settled = true));
      await vi.advanceTimersByTimeAsync(100);
      if (settled) continue; // went to b1 directly
      ac.abort();
      await vi.advanceTimersByTimeAsync(10);
      expect(settled).toBe(true);
      await expect(p).rejects.toMatchObject({ status: 499 });
      expect(h.inflight()).toBe(0);
      return;
    }
    throw new Error('no request waited on Retry-After');
  });
});

describe('what the record says about a failed request', () => {
  it('every attempt got a 500: 502 upstream_status_error, classed upstream_5xx (not connect)', async () => {
    const h = await harness(2, () => ({ status: 500, headers: JSON_HEAD, body: ['{}'] }));
    await expect(settle(h.request(CHAT))).rejects.toMatchObject({ status: 502, code: 'upstream_status_error' });
    const ev = requestEventOf(h.records[0]!, Date.now(), performance.now());
    expect(ev.error_class).toBe('upstream_5xx');
  });

  it('every backend refused the connection: classed connect', async () => {
    const h = await harness(2, () => ({ refuse: true }));
    await expect(settle(h.request(CHAT))).rejects.toMatchObject({ status: 502, code: 'upstream_connect_failed' });
    expect(requestEventOf(h.records[0]!, Date.now(), performance.now()).error_class).toBe('connect');
  });

  it("the router's own 429 after every backend rate-limited: classed rate_limited", async () => {
    const h = await harness(2, () => ({ status: 429, headers: JSON_HEAD, body: ['{}'] }));
    await expect(settle(h.request(CHAT))).rejects.toMatchObject({ status: 429 });
    expect(requestEventOf(h.records[0]!, Date.now(), performance.now()).error_class).toBe('rate_limited');
  });

  it('an unknown model is the client\'s mistake: classed invalid_request', async () => {
    const h = await harness(1, () => ok);
    await expect(settle(h.request({ ...CHAT, model: 'nope' }))).rejects.toMatchObject({ status: 404 });
    expect(requestEventOf(h.records[0]!, Date.now(), performance.now()).error_class).toBe('invalid_request');
  });
});

describe('sampling keys on the router, not on the client', () => {
  it('one client-chosen x-request-id does not force or dodge shadowing', async () => {
    const h = await harness(2, () => ok, {
      pools: { p: { backends: [{ id: 'b0', url: 'http://b0', engine: 'openai-compatible' }] }, s: { backends: [{ id: 'b1', url: 'http://b1', engine: 'openai-compatible' }] } },
      experiments: [{ name: 'e', model: 'm', arms: [{ name: 'a', weight: 100, pool: 'p' }], shadow: { pool: 's', sampleRate: 0.5 } }],
    });
    h.deps.emit = () => {};
    const { ShadowLimiter } = await import('../../../src/experiments/shadow/limiter.ts');
    h.deps.shadowLimiter = new ShadowLimiter();
    for (let i = 0; i < 40; i++) await settle(h.request(CHAT, { headers: { 'x-request-id': 'always-the-same' } }).then(drain));
    const shadowed = h.records.filter((r) => r.shadowed).length;
    expect(h.records.every((r) => r.requestId === 'always-the-same')).toBe(true);
    expect(shadowed).toBeGreaterThan(5);
    expect(shadowed).toBeLessThan(35);
  });
});
