// Clients that leave mid-stream in workerd: the backend's in-flight slot comes back (the request's signal ends
// the stream even when the runtime drops the response body without cancelling it), so a backend with
// maxConcurrency is not starved by phantom load.
import { SELF } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { backendsOf, issuedKeyOf } from '../helpers/responses.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };

describe('client aborts in workerd', () => {
  it('200 aborted streams leave in-flight at 0 and the backend usable', async () => {
    const url = inject('simUrls')[0]!;
    const put = await SELF.fetch('http://kvroute/admin/tenants/aborts', {
      method: 'PUT',
      headers: ADMIN,
      body: JSON.stringify({ models: { m: { pool: 'p', model: 'llama-3.1-8b' } }, pools: { p: { backends: [{ id: 'b0', url, maxConcurrency: 2 }] } }, health: { probeIntervalMs: 0 } }),
    });
    expect(put.status).toBe(201);
    const { key } = await issuedKeyOf(await SELF.fetch('http://kvroute/admin/tenants/aborts/keys', { method: 'POST', headers: ADMIN }));
    const H = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'm', stream: true, max_tokens: 2000, ignore_eos: true, messages: [{ role: 'user', content: 'long answer please' }] });
    const abortOne = async () => {
      const ac = new AbortController();
      const r = await SELF.fetch('http://kvroute/v1/chat/completions', { method: 'POST', headers: H, body, signal: ac.signal });
      expect(r.status).toBe(200);
      await r.body!.getReader().read(); // the first chunk arrived: the stream is running
      ac.abort();
    };
    // maxConcurrency 2: two at a time, so a leaked slot would turn the next ones into 503s at once.
    for (let i = 0; i < 200; i += 2) await Promise.all([abortOne(), abortOne()]);
    const inflight = async () => {
      const backends = await backendsOf(await SELF.fetch('http://kvroute/admin/backends', { headers: ADMIN }));
      return backends[url]!.inflight;
    };
    for (let i = 0; i < 50 && (await inflight()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await inflight()).toBe(0);
    const after = await SELF.fetch('http://kvroute/v1/chat/completions', {
      method: 'POST',
      headers: H,
      body: JSON.stringify({ model: 'm', max_tokens: 4, messages: [{ role: 'user', content: 'still there?' }] }),
    });
    expect(after.status).toBe(200);
  }, 120_000);
});
