import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, poolConfig, testApp } from '../../helpers/platform.ts';

const cfg = poolConfig(['http://127.0.0.1:9']);

describe('admin API', () => {
  it('requires the admin token and never accepts a tenant key', async () => {
    const { app, admin } = await testApp();
    expect((await app.request('/admin/tenants')).status).toBe(401);
    expect((await app.request('/admin/tenants', { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(403);
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    const { key } = (await (await admin('/tenants/acme/keys', { method: 'POST' })).json()) as { key: string };
    const r = await app.request('/admin/tenants/acme', { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe('permission_error');
  });

  it('creates, reads, replaces with If-Match and deletes a tenant config', async () => {
    const { admin } = await testApp();
    const created = await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"1"');
    const read = await admin('/tenants/acme');
    expect(((await read.json()) as { version: number }).version).toBe(1);

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
    const body = (await r.json()) as { error: { message: string; problems: string[] } };
    expect(body.error.problems).toContain('pools.gpu-a.backends[2].url: Invalid URL');
    expect((await admin('/tenants/acme', { method: 'PUT', body: '{not json' })).status).toBe(400);
  });

  it('issues a key once (stored only as a hash), lists and revokes it', async () => {
    const { app, admin, store } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(cfg) });
    const issued = await admin('/tenants/acme/keys', { method: 'POST', body: JSON.stringify({ name: 'ci' }) });
    expect(issued.status).toBe(201);
    const { key, keyId } = (await issued.json()) as { key: string; keyId: string };
    const stored = await store.listKeys('acme');
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(stored[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    const list = (await (await admin('/tenants/acme/keys')).json()) as { keys: { keyId: string }[] };
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
    const { key } = (await (await admin('/tenants/acme/keys', { method: 'POST' })).json()) as { key: string };
    const models = (await (await app.request('/v1/models', { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['llama-3.1-8b']);
    const r = await app.request('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'secret-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    expect(ADMIN_TOKEN).not.toBe(key);
  });
});
