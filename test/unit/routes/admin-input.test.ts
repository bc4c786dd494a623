// Every admin input (path parameters, query parameters, headers, bodies) is parsed by its schema in
// src/config/admin-api.ts: a bad one is an OpenAI-style 400 naming the field, where it was and what to fix.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { cacheReportRoutes } from '../../../routes/cache-report.ts';
import { driftRoutes } from '../../../routes/drift.ts';
import { experimentRoutes } from '../../../routes/experiments.ts';
import type { Queryable } from '../../../src/analytics/queryable.ts';
import { MemoryDriftStore } from '../../../src/drift/store.ts';
import { errorOf } from '../../helpers/responses.ts';
import { poolConfig, testApp } from '../../helpers/platform.ts';

const emptyStore = (): Queryable => ({ dialect: 'sqlite', table: 'kvroute_events', rows: async () => [] });

describe('admin input', () => {
  it('an unknown query parameter is a 400 that names it, not ignored (a typo must not widen a report)', async () => {
    const app = new Hono();
    app.route('/cache-report', cacheReportRoutes({ queryable: emptyStore }));
    app.route('/tenants/:id/experiments', experimentRoutes({ queryable: emptyStore }));
    app.route('/tenants/:id/drift', driftRoutes({ store: new MemoryDriftStore() }));
    for (const path of ['/cache-report?hour=3', '/tenants/acme/experiments/exp1/report?hour=3', '/tenants/acme/drift?hour=3']) {
      const r = await app.request(path);
      expect(r.status, path).toBe(400);
      const e = await errorOf(r);
      expect(e, path).toMatchObject({ type: 'invalid_request_error', param: 'hour', code: 'invalid_value' });
      expect(e.message, path).toContain("Invalid query parameter 'hour': unknown query parameter; remove it");
    }
  });

  it('a bad query value names the parameter and what it must be', async () => {
    const app = new Hono();
    app.route('/cache-report', cacheReportRoutes({ queryable: emptyStore }));
    const e = await errorOf(await app.request('/cache-report?tenant=no%20spaces'));
    expect(e).toMatchObject({ param: 'tenant', code: 'invalid_value' });
    expect(e.message).toBe(`Invalid query parameter 'tenant': tenant ids are 1-64 letters, digits, ".", "_" or "-".`);
  });

  it('a key id that cannot exist is a 400 naming keyId, not a 404', async () => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9'])) });
    const r = await admin('/tenants/acme/keys/not-a-key-id', { method: 'DELETE' });
    expect(r.status).toBe(400);
    const e = await errorOf(r);
    expect(e).toMatchObject({ type: 'invalid_request_error', param: 'keyId', code: 'invalid_value' });
    expect(e.message).toContain("Invalid path parameter 'keyId'");
  });

  it('a bad If-Match is a 400 naming the header and the ETag to send', async () => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9'])) });
    for (const method of ['PUT', 'DELETE']) {
      const r = await admin('/tenants/acme', { method, headers: { 'if-match': 'yesterday' }, body: method === 'PUT' ? JSON.stringify(poolConfig(['http://127.0.0.1:9'])) : undefined });
      expect(r.status, method).toBe(400);
      const e = await errorOf(r);
      expect(e, method).toMatchObject({ type: 'invalid_request_error', param: 'if-match', code: 'invalid_value' });
      expect(e.message, method).toContain(`Invalid header 'if-match': must be a version ETag such as "3"`);
    }
    // A bad precondition on DELETE is refused before anything is deleted.
    expect((await admin('/tenants/acme')).status).toBe(200);
  });

  it('a bad tenant id is a 400 naming id on every tenant route', async () => {
    const { admin } = await testApp();
    for (const [method, path] of [['GET', '/tenants/a%20b'], ['DELETE', '/tenants/a%20b'], ['GET', '/tenants/a%20b/keys'], ['PUT', '/tenants/a%20b']]) {
      const r = await admin(path!, { method, body: method === 'PUT' ? '{}' : undefined });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(await errorOf(r), `${method} ${path}`).toMatchObject({ param: 'id', code: 'invalid_value' });
    }
  });

  it('a bad body field is named with what to fix', async () => {
    const { admin } = await testApp();
    await admin('/tenants/acme', { method: 'PUT', body: JSON.stringify(poolConfig(['http://127.0.0.1:9'])) });
    const e = await errorOf(await admin('/tenants/acme/keys', { method: 'POST', body: JSON.stringify({ key: 'short' }) }));
    expect(e).toMatchObject({ param: 'key', code: 'invalid_value' });
    expect(e.message).toBe("Invalid value for 'key': an imported key must be 16-256 characters without spaces.");
    const extra = await errorOf(await admin('/tenants/acme/keys', { method: 'POST', body: JSON.stringify({ nmae: 'typo' }) }));
    expect(extra).toMatchObject({ param: 'nmae' });
  });
});
