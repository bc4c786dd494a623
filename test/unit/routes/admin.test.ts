import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { driftRoutes } from '../../../routes/drift.ts';
import { MemoryDriftStore } from '../../../src/drift/store.ts';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { errorIn, errorOf, issuedKeyOf, keyListOf, modelIdsOf } from '../../helpers/responses.ts';
import { ADMIN_TOKEN, poolConfig, testApp } from '../../helpers/platform.ts';

const cfg = poolConfig(['http://127.0.0.1:9']);

describe('admin API', () => {
  it('requires the admin token and never accepts a tenant key', async () => {
    const { app, admin } = await testApp();
    expect((await app.request('/admin/tenants')).status).toBe(401);
    expect((await app.request('/admin/tenants', { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(403);
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    const { key } = await issuedKeyOf(await admin('/tenants/acme/keys', { method: 'POST' }));
    const r = await app.request('/admin/tenants/acme', { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(403);
    expect((await errorOf(r)).type).toBe('permission_error');
  });

  it('creates, reads, replaces with If-Match and deletes a tenant config', async () => {
    const { admin } = await testApp();
    const created = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const read = await admin('/tenants/acme');
    expect(((await read.json<unknown>()) as { version: number }).version).toBe(1);

    const stale = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg), headers: { 'if-match': '"0"' } });
    expect(stale.status).toBe(412);
    const ok = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg), headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    // The second of two editors that both read version 1 loses.
    const loser = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg), headers: { 'if-match': '"1"' } });
    expect(loser.status).toBe(412);

    expect((await admin('/tenants/acme', { method: 'DELETE' })).status).toBe(204);
    expect((await admin('/tenants/acme')).status).toBe(404);
  });

  it('rejects an invalid config with every problem pointing at its path', async () => {
    const { admin } = await testApp();
    const bad = poolConfig(['http://127.0.0.1:1', 'http://127.0.0.1:2', 'nope']);
    const r = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(bad) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).problems).toContain('pools.gpu-a.backends[2].url: Invalid URL');
    expect((await admin('/tenants/acme', { method: 'PUT', body: '{not json' })).status).toBe(400);
  });

  it('refuses to import the admin token as a tenant key (it would then call /v1 as that tenant)', async () => {
    const { app, admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    const r = await admin('/tenants/acme/keys', { method: 'POST', body: JSON.stringify({ key: ADMIN_TOKEN }) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).param).toBe('key');
    expect((await app.request('/v1/models', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(401);
  });

  it('issues a key once (stored only as a hash), lists and revokes it', async () => {
    const { app, admin, store } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    const issued = await admin('/tenants/acme/keys', { method: 'POST', body: JSON.stringify({ name: 'ci' }) });
    expect(issued.status).toBe(201);
    const { key, keyId } = await issuedKeyOf(issued);
    const stored = await store.listKeys('acme');
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(stored[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    const list = await keyListOf(await admin('/tenants/acme/keys'));
    expect(list.keys.map((k) => k.keyId)).toEqual([keyId]);
    expect(JSON.stringify(list)).not.toContain(key);

    const models = await app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);
    expect((await admin(`/tenants/acme/keys/${keyId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
  });

  it("keeps tenants apart: a key sees only its own tenant's models", async () => {
    const { app, admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    await admin('/tenants/globex', {
      method: 'PUT',
      body: JSON.stringify({ models: { 'secret-model': { pool: 'p' } }, pools: { p: { backends: [{ id: 'x', url: 'http://127.0.0.1:8' }] } } }),
    });
    const { key } = await issuedKeyOf(await admin('/tenants/acme/keys', { method: 'POST' }));
    expect(await modelIdsOf(await app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } }))).toEqual(['llama-3.1-8b']);
    const r = await app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'secret-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(404);
    expect((await errorOf(r)).code).toBe('model_not_found');
    expect(ADMIN_TOKEN).not.toBe(key);
  });
});

describe('admin request bodies', () => {
  it.each(['null', '[]', '"a string"', '42', 'true', '{"name": 7}', '{"key": "short"}', '{"surprise": 1}'])(
    'POST /tenants/:id/keys with body %s is a 400 that names the problem, never a 500',
    async (body) => {
      const { admin } = await testApp();
      await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
      const r = await admin('/tenants/acme/keys', { method: 'POST', body });
      expect(r.status).toBe(400);
      const e = await errorOf(r);
      expect(e.type).toBe('invalid_request_error');
      expect(typeof e.code).toBe('string');
      expect(e.message.length).toBeGreaterThan(10);
      if (body.startsWith('{"name"')) expect(e.param).toBe('name');
      if (body.startsWith('{"key"')) expect(e.param).toBe('key');
    },
  );

  it('POST /tenants/:id/keys accepts no body, an empty object, a name and an imported key', async () => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    for (const body of [undefined, '', '{}', '{"name":"ci"}', '{"key":"imported-key-0123456789"}']) {
      const r = await admin('/tenants/acme/keys', { method: 'POST', body });
      expect(r.status, String(body)).toBe(201);
    }
  });

  it.each(['null', '[]', '"x"', '{not json'])('PUT /tenants/:id with body %s is a 400', async (body) => {
    const { admin } = await testApp();
    const r = await admin('/tenants/acme', { method: 'PUT', body });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).type).toBe('invalid_request_error');
  });

  it('an invalid config names the first bad field in param', async () => {
    const { admin } = await testApp();
    const r = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['nope'])) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).param).toBe('pools.gpu-a.backends[0].url');
  });

  it.each([
    ['null', null],
    ['[]', null],
    ['{"from": "yesterday", "to": 1}', 'from'],
    ['{"from": 1}', 'to'],
    ['{"trailingDays": 0}', 'trailingDays'],
    ['{"restore": 1, "trailingDays": 3}', null],
    ['{"trailingDays": 3, "surprise": 1}', 'surprise'],
  ])('PUT /tenants/:id/drift/baseline with body %s is a 400 with param %s', async (body, param) => {
    const app = new Hono().route('/admin/tenants/:id/drift', driftRoutes({ store: new MemoryDriftStore() }));
    const r = await app.request('/admin/tenants/acme/drift/baseline', { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    const e = await errorOf(r);
    expect(e.type).toBe('invalid_request_error');
    expect(e.param).toBe(param);
    expect(e.message).toContain('{"trailingDays": N}');
  });
});

describe('config names that are Object.prototype members', () => {
  it("a model routed to pool 'constructor' is refused on write instead of failing every request", async () => {
    const { admin } = await testApp();
    for (const pool of ['constructor', 'toString', '__proto__']) {
      const body = { models: { m: { pool } }, pools: { p: { backends: [{ id: 'a', url: 'http://127.0.0.1:9' }] } } };
      const r = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(body) });
      expect(r.status, pool).toBe(400);
      expect((await errorOf(r)).param).toBe('models.m.pool');
    }
  });

  it('a tenant whose pool is really named constructor serves', async () => {
    const { app, admin } = await testApp();
    const body = { models: { toString: { pool: 'constructor' } }, pools: { constructor: { backends: [{ id: 'a', url: 'http://127.0.0.1:9' }] } } };
    expect((await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(body) })).status).toBe(201);
    const { key } = await issuedKeyOf(await admin('/tenants/acme/keys', { method: 'POST' }));
    expect(await modelIdsOf(await app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } }))).toEqual(['toString']);
  });
});

describe('egress rules through the admin API', () => {
  it('refuses a metadata backend and a credentialed webhook with 400s that name the field', async () => {
    const { admin } = await testApp();
    const r = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://169.254.169.254/latest'])) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).param).toBe('pools.gpu-a.backends[0].url');
    const hook = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify({ ...cfg, drift: { alertWebhook: 'https://u:p@hooks.example.com/x' } }) });
    expect(hook.status).toBe(400);
    expect((await errorOf(hook)).param).toBe('drift.alertWebhook');
  });

  it('refuses loopback backends when the platform is not local dev', async () => {
    const { admin, platform } = await testApp();
    platform.egress = () => ({ localDev: false, self: [] });
    const r = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9000'])) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).message).toMatch(/loopback/);
    const allowed = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9000'], { network: { allowHosts: ['127.0.0.1:9000'] } })) });
    expect(allowed.status).toBe(201);
  });
});

describe('backend secrets are write-only', () => {
  const SECRET = 'sk-backend-secret-0123456789';
  const withKey = (extra: Record<string, unknown> = {}) => ({
    models: { m: { pool: 'p' } },
    pools: { p: { backends: [{ id: 'a', url: 'http://127.0.0.1:9', apiKey: SECRET }, { id: 'b', url: 'http://127.0.0.1:8' }] } },
    ...extra,
  });

  it('reads show that a key is set, never the key; a GET-edit-PUT keeps it', async () => {
    const { admin, store } = await testApp();
    const put = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(withKey()) });
    expect(put.status).toBe(201);
    expect(await put.text()).not.toContain(SECRET);

    const got = await admin('/tenants/acme');
    const text = await got.text();
    expect(text).not.toContain(SECRET);
    const view = JSON.parse(text) as { config: { pools: { p: { backends: { apiKey?: string }[] } }; retry: { maxAttempts: number } } };
    const placeholder = view.config.pools.p.backends[0]!.apiKey!;
    expect(placeholder).toMatch(/set/);
    expect(view.config.pools.p.backends[1]!.apiKey).toBeUndefined();

    // Edit something else and send the whole config back with the placeholder.
    view.config.retry.maxAttempts = 5;
    const again = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(view.config), headers: { 'if-match': got.headers.get('etag')! } });
    expect(again.status).toBe(200);
    expect(await again.text()).not.toContain(SECRET);
    const stored = (await store.getTenant('acme'))!;
    expect(stored.config.pools['p']!.backends[0]!.apiKey).toBe(SECRET);
    expect(stored.config.retry.maxAttempts).toBe(5);

    // A new key replaces it; omitting apiKey removes it.
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(withKey()).replace(SECRET, 'sk-rotated-0123456789') });
    expect((await store.getTenant('acme'))!.config.pools['p']!.backends[0]!.apiKey).toBe('sk-rotated-0123456789');
    const removed = withKey();
    delete (removed.pools.p.backends[0] as { apiKey?: string }).apiKey;
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(removed) });
    expect((await store.getTenant('acme'))!.config.pools['p']!.backends[0]!.apiKey).toBeUndefined();
  });

  it('refuses the placeholder for a backend that has no stored key, naming the field', async () => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(withKey()) });
    const view = (await (await admin('/tenants/acme')).json<unknown>()) as { config: { pools: { p: { backends: { id: string; apiKey?: string }[] } } } };
    view.config.pools.p.backends[1]!.apiKey = view.config.pools.p.backends[0]!.apiKey;
    const r = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(view.config) });
    expect(r.status).toBe(400);
    expect((await errorOf(r)).param).toBe('pools.p.backends[1].apiKey');
  });
});

describe('dot-segments in the raw request path (Node, real socket)', () => {
  let router: NodeRouter;
  let store: MemoryTenantStore;

  beforeAll(async () => {
    store = new MemoryTenantStore();
    router = await startNodeRouter({ store, adminToken: ADMIN_TOKEN, probes: false, cacheTtlMs: 0, localDev: true });
  });
  afterAll(async () => {
    await router?.close();
  });

  /** Sends the request target exactly as written (no client-side URL normalisation). */
  function raw(method: string, target: string, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: router.port, method, path: target, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it.each([
    '/admin/tenants/x/../victim',
    '/admin/tenants/x/%2e%2e/victim',
    '/admin/tenants/x/%2E%2E/victim',
    '/admin/tenants/x/.%2e/victim',
    '/admin/tenants/x/%2e./victim',
    '/admin/tenants/x/%252e%252e/victim',
    '/admin/tenants/x%2f..%2fvictim',
    '/admin/./tenants/victim',
    '/admin/tenants/./victim',
    '/v1/../admin/tenants/victim',
    '/admin/tenants/x/..',
  ])('refuses %s with a 400 and leaves the victim alone', async (target) => {
    await store.putTenant('victim', (await store.getTenant('victim'))?.config ?? (await seed()));
    const r = await raw('DELETE', target);
    expect(r.status).toBe(400);
    expect(errorIn(JSON.parse(r.body)).type).toBe('invalid_request_error');
    expect(await store.getTenant('victim')).not.toBeNull();
  });

  it('still serves the plain path', async () => {
    await store.putTenant('victim', await seed());
    expect((await raw('GET', '/admin/tenants/victim')).status).toBe(200);
  });

  it("refuses the router's own port as a backend", async () => {
    const r = await raw('PUT', '/admin/tenants/loop', JSON.stringify(poolConfig([`http://127.0.0.1:${router.port}`])));
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/router's own address/);
  });

  async function seed() {
    const { parseTenantConfig } = await import('../../../src/config/schema.ts');
    const p = parseTenantConfig(cfg);
    if (!p.ok) throw new Error(p.problems.join());
    return p.value;
  }
});
