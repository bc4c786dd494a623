import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { experimentRoutes } from '../../../routes/experiments.ts';
import { openSqlite, SqliteSink } from '../../../src/analytics/sinks/sqlite.ts';
import { sqliteQueryable, type Queryable } from '../../../src/analytics/queryable.ts';
import type { ExperimentReport } from '../../../src/experiments/report.ts';
import { armEvents } from '../analytics/fixtures.ts';

async function appWith(queryable: () => Queryable) {
  const app = new Hono();
  app.route('/admin/tenants/:id/experiments', experimentRoutes({ queryable, experimentExists: (t, n) => n !== 'missing' }));
  return app;
}

describe('GET /admin/tenants/:id/experiments/:name/report', () => {
  it('returns the report for the tenant in the mount path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvr-route-'));
    const db = await openSqlite(join(dir, 'a.db'));
    await new SqliteSink(db).write(armEvents('acme', 'exp1', { control: [10, 20, 30], treat: [5] }, { treat: 1 }));
    const app = await appWith(() => sqliteQueryable(db));
    const res = await app.request('/admin/tenants/acme/experiments/exp1/report');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ tenant: 'acme', experiment: 'exp1', arms: [{ arm: 'control', requests: 3, ttft_p50_ms: 20 }, { arm: 'treat', requests: 1, errors: 1, error_rate: 1 }], shadow: null });
    const later = (await (await app.request('/admin/tenants/acme/experiments/exp1/report?since=2030-01-01T00:00:00Z')).json<unknown>()) as ExperimentReport;
    expect(later.arms).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('OpenAI-style errors: bad name 400, bad since 400, unknown experiment 404, store down 503', async () => {
    const app = await appWith(() => ({ dialect: 'sqlite', table: 'kvroute_events', rows: async () => { throw new Error('disk gone'); } }));
    const bad = await app.request('/admin/tenants/acme/experiments/bad%20name/report');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'name', code: 'invalid_value' } });
    const since = await app.request('/admin/tenants/acme/experiments/exp1/report?since=yesterday');
    expect(await since.json()).toMatchObject({ error: { param: 'since' } });
    const missing = await app.request('/admin/tenants/acme/experiments/missing/report');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { type: 'not_found_error', code: 'experiment_not_found' } });
    const down = await app.request('/admin/tenants/acme/experiments/exp1/report');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: { message: 'The analytics store could not answer: disk gone', type: 'server_error', param: null, code: 'analytics_unavailable' } });
  });
});
