// The admin surface's hardening inside workerd: deployments without a real admin token refuse to serve, egress
// rules on backend URLs, write-only backend secrets, and the dot-segment forms the Worker can still see.
import { SELF, createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../routes/worker.ts';
import { errorOf } from '../helpers/responses.ts';

const ADMIN = { authorization: 'Bearer dev-admin-token', 'content-type': 'application/json' };
const STRONG = 'k7Qf2vXp9LmR4tWz8bYc1nHs6dJg3aEu';


/** The Worker's fetch handler with the test bindings changed (what a deploy with other vars would get). */
async function fetchWith(vars: Record<string, string | undefined>, url = 'http://kvroute/health'): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe('admin writes in workerd', () => {
  const put = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    SELF.fetch(`http://kvroute/admin/tenants/${id}`, { method: 'PUT', headers: { ...ADMIN, ...headers }, body: JSON.stringify(body) });
  // No probes: nothing listens on these backends.
  const pool = (backend: Record<string, unknown>) => ({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'a', ...backend }] } }, health: { probeIntervalMs: 0 } });

  it('refuses metadata, link-local and credentialed backend URLs, naming the field', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/', 'http://0xa9fea9fe/', 'http://u:p@10.0.0.5:8000']) {
      const r = await put('egress', pool({ url }));
      expect(r.status, url).toBe(400);
      expect((await errorOf(r)).param).toBe('pools.p.backends[0].url');
    }
  });

  it('accepts loopback backends in local dev (the test bindings), but not the address the request reached', async () => {
    expect((await put('loopback', pool({ url: 'http://127.0.0.1:9' }))).status).toBe(201);
    const self = await put('self', pool({ url: 'http://kvroute' }));
    expect(self.status).toBe(400);
    expect((await errorOf(self)).message).toContain("router's own address");
  });

  it('never shows a backend apiKey; a GET-edit-PUT keeps the stored key', async () => {
    const secret = 'sk-workers-backend-0123456789';
    expect((await put('secretive', pool({ url: 'http://127.0.0.1:9', apiKey: secret }))).status).toBe(201);
    const got = await SELF.fetch('http://kvroute/admin/tenants/secretive', { headers: ADMIN });
    const text = await got.text();
    expect(text).not.toContain(secret);
    const view = JSON.parse(text) as { config: { pools: { p: { backends: { apiKey: string }[] } }; retry: { maxAttempts: number } } };
    expect(view.config.pools.p.backends[0]!.apiKey).toMatch(/set/);
    view.config.retry.maxAttempts = 5;
    const again = await put('secretive', view.config, { 'if-match': got.headers.get('etag')! });
    expect(again.status).toBe(200);
    expect(await again.text()).not.toContain(secret);
    const rec = (await env.CONFIG.get('tenant:secretive', 'json')) as { config: { pools: { p: { backends: { apiKey: string }[] } } } };
    expect(rec.config.pools.p.backends[0]!.apiKey).toBe(secret);
  });

  it('refuses dot-segments hidden behind encoded separators (workerd resolves plain and %2e ones before the Worker runs)', async () => {
    expect((await put('victim', pool({ url: 'http://127.0.0.1:9' }))).status).toBe(201);
    for (const path of ['/admin/tenants/x%2f..%2fvictim', '/admin/tenants/x%5c..%5cvictim', '/admin/tenants/x%2f%2e%2e%2fvictim']) {
      const r = await SELF.fetch(`http://kvroute${path}`, { method: 'DELETE', headers: ADMIN });
      expect(r.status, path).toBe(400);
      expect((await errorOf(r)).code).toBe('invalid_path');
    }
    expect((await SELF.fetch('http://kvroute/admin/tenants/victim', { headers: ADMIN })).status).toBe(200);
  });

  it('POST /keys with a null body is a 400, not a 500', async () => {
    expect((await put('keys-null', pool({ url: 'http://127.0.0.1:9' }))).status).toBe(201);
    const r = await SELF.fetch('http://kvroute/admin/tenants/keys-null/keys', { method: 'POST', headers: ADMIN, body: 'null' });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).type).toBe('invalid_request_error');
  });
});

// After the admin tests: the isolate this module builds first keeps its bindings, and SELF shares it.
describe('a deployment without a real admin token', () => {
  it.each([
    ['no token', undefined],
    ['the old wrangler.toml token', 'dev-admin-token'],
    ['a short token', 'short-but-not-known'],
    ['a long token of few characters', 'a'.repeat(40)],
  ])('answers every request with a 503 that says what to set (%s)', async (_, token) => {
    for (const url of ['http://kvroute/health', 'http://kvroute/v1/models', 'http://kvroute/admin/tenants']) {
      const r = await fetchWith({ KVROUTE_LOCAL_DEV: undefined, KVROUTE_ADMIN_TOKEN: token }, url);
      expect(r.status).toBe(503);
      const e = await errorOf(r);
      expect(e.type).toBe('server_error');
      expect(e.message).toContain('KVROUTE_ADMIN_TOKEN');
      expect(e.message).toContain('wrangler secret put');
    }
  });

  it('serves once a strong secret is set (the refusal is not cached), and in local dev with the dev token', async () => {
    expect((await fetchWith({ KVROUTE_LOCAL_DEV: undefined, KVROUTE_ADMIN_TOKEN: undefined })).status).toBe(503);
    expect((await fetchWith({ KVROUTE_LOCAL_DEV: undefined, KVROUTE_ADMIN_TOKEN: STRONG })).status).toBe(200);
    expect((await fetchWith({ KVROUTE_LOCAL_DEV: '1', KVROUTE_ADMIN_TOKEN: 'dev-admin-token' })).status).toBe(200);
  });
});
