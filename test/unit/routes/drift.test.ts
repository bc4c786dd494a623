import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { driftRoutes } from '../../../routes/drift.ts';
import { defaultDriftConfig } from '../../../src/config/drift.ts';
import { DriftAccumulator } from '../../../src/drift/aggregate.ts';
import { extractFeatures } from '../../../src/drift/features.ts';
import { MemoryDriftStore } from '../../../src/drift/store.ts';
import { baselineListingSchema, driftReportSchema } from '../../../src/drift/wire.ts';
import { errorOf } from '../../helpers/responses.ts';
import { stringContaining } from '../../helpers/matchers.ts';
import { trafficSource } from '../drift/traffic.ts';

const T0 = Date.UTC(2026, 0, 5);

async function setup() {
  const store = new MemoryDriftStore(() => T0 + 10 * 60_000);
  const acc = new DriftAccumulator();
  const next = trafficSource(3);
  for (let i = 0; i < 50; i++) {
    const r = next();
    acc.record('acme', defaultDriftConfig, 'm', '', extractFeatures(r.body, r.response), T0 + i * 1000);
  }
  for (const { tenantId, delta } of acc.drain()) await store.ingest(tenantId, delta);
  const app = new Hono();
  app.route('/admin/tenants/:id/drift', driftRoutes({ store }));
  return app;
}

const put = (body: unknown) => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('drift routes', () => {
  it('GET / reports per feature for the tenant in the path', async () => {
    const app = await setup();
    const res = await app.request('/admin/tenants/acme/drift?window=5m');
    expect(res.status).toBe(200);
    const body = driftReportSchema.parse(await res.json<unknown>());
    expect(body.tenantId).toBe('acme');
    expect(body.groups[0]!.features.map((f) => f.feature)).toContain('prompt_chars');
    expect(body.groups[0]!.features[0]).toHaveProperty('status');
    expect(driftReportSchema.parse(await (await app.request('/admin/tenants/other/drift')).json<unknown>()).groups).toEqual([]);
  });

  it('validation errors are OpenAI-style and say what to fix', async () => {
    const app = await setup();
    let res = await app.request('/admin/tenants/acme/drift?window=7m');
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ type: 'invalid_request_error', message: stringContaining("unknown window '7m'") });
    res = await app.request('/admin/tenants/acme/drift?at=yesterday');
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ param: 'at', message: stringContaining('ISO time or epoch ms') });
    res = await app.request('/admin/tenants/acme/drift/baseline', put({ from: 'x' }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain('{"trailingDays": N}');
    res = await app.request('/admin/tenants/acme/drift/baseline', put('{nope'));
    expect((await errorOf(res)).code).toBe('invalid_json');
    res = await app.request('/admin/tenants/acme/drift/baseline', put({ from: T0 + 3_600_000, to: T0 + 7_200_000 }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain('no retained traffic');
  });

  it('PUT /baseline creates a version; GET /baseline lists versions', async () => {
    const app = await setup();
    let res = await app.request('/admin/tenants/acme/drift/baseline', put({ from: new Date(T0).toISOString(), to: T0 + 300_000 }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ version: 1, spec: { kind: 'frozen', from: T0, to: T0 + 300_000 } });
    res = await app.request('/admin/tenants/acme/drift/baseline', put({ trailingDays: 7, label: 'rolling' }));
    expect(await res.json()).toMatchObject({ version: 2, spec: { kind: 'trailing', days: 7, label: 'rolling' } });
    res = await app.request('/admin/tenants/acme/drift/baseline', put({ restore: 1 }));
    expect(await res.json()).toMatchObject({ version: 3, spec: { kind: 'frozen', from: T0, to: T0 + 300_000 } });
    res = await app.request('/admin/tenants/acme/drift/baseline', put({ restore: 9 }));
    expect((await errorOf(res)).message).toContain('no baseline version 9; versions: 1, 2, 3');
    const listing = baselineListingSchema.parse(await (await app.request('/admin/tenants/acme/drift/baseline')).json<unknown>());
    expect(listing.active?.version).toBe(3);
    expect(listing.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    const report = driftReportSchema.parse(await (await app.request('/admin/tenants/acme/drift')).json<unknown>());
    expect(report.groups[0]?.baseline).toMatchObject({ version: 3, requests: 50 });
  });
});
