// Admin request bodies are read like inference bodies: bounded in size and time, and anything but a JSON object
// is a 400 that says so (found by the HTTP fuzz suite, test/e2e/fuzz).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorOf } from '../../helpers/responses.ts';
import { poolConfig, testApp } from '../../helpers/platform.ts';

/** A request body that starts and then never ends (a client that stalls, or lied in Content-Length). */
const stalled = () => new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode('{"models":')) });
const PENDING = Symbol('pending');

afterEach(() => {
  vi.useRealTimers();
});

describe('admin request bodies', () => {
  it.each([
    ['PUT', '/tenants/fz-1'],
    ['POST', '/tenants/acme/keys'],
  ])('%s %s: a body that never finishes gets 408 request_body_timeout instead of holding the request open', async (method, path) => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9'])) });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let res: Response | typeof PENDING = PENDING;
    void Promise.resolve(admin(path, { method, body: stalled(), duplex: 'half' } as RequestInit)).then((r) => (res = r));
    // The route awaits real I/O (hashing the token) before it starts reading: let it get to its deadline timer
    // (bounded: the old code never sets one), then pass a minute of fake time.
    for (let i = 0; i < 20_000 && vi.getTimerCount() === 0 && res === PENDING; i++) await new Promise((r) => setImmediate(r));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(res).not.toBe(PENDING);
    const r = res as unknown as Response;
    expect(r.status).toBe(408);
    expect((await errorOf(r)).code).toBe('request_body_timeout');
  });

  it('a tenant config over the admin body limit gets 413', async () => {
    const { admin } = await testApp();
    const r = await admin('/tenants/fz-1', { method: 'PUT', body: JSON.stringify({ ...poolConfig(['http://127.0.0.1:9']), pad: 'x'.repeat(5 * 1024 * 1024) }) });
    expect(r.status).toBe(413);
    expect((await errorOf(r)).code).toBe('request_too_large');
  });

  it.each(['null', '[]', '"key"', '123', 'true'])('POST keys with the JSON %s: a 400 invalid_request_error, not a 500', async (body) => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9'])) });
    const r = await admin('/tenants/acme/keys', { method: 'POST', body });
    expect(r.status).toBe(400);
    const error = await errorOf(r);
    expect(error.type).toBe('invalid_request_error');
    expect(typeof error.code).toBe('string');
  });
});
