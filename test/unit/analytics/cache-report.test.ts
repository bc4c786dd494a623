// The cache report on SQLite: measured prefix-cache hit rate (cached / prompt tokens the engines stated) per
// tenant, backend and policy, and its admin route.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../../src/analytics/event.ts';
import { cacheReport } from '../../../src/analytics/cache-report.ts';
import { sqliteQueryable, type Queryable } from '../../../src/analytics/queryable.ts';
import { openSqlite, SqliteSink } from '../../../src/analytics/sinks/sqlite.ts';
import { cacheRequests } from './fixtures.ts';
import { cacheReportRoutes } from '../../../routes/cache-report.ts';

let dir: string;
let q: Queryable;
const events: AnalyticsEvent[] = cacheRequests();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvr-cache-'));
  const db = await openSqlite(join(dir, 'a.db'));
  await new SqliteSink(db).write(events);
  q = sqliteQueryable(db);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cache report', () => {
  it('hit rate per tenant, per backend (tenant, pool, id) and per policy; error answers left out', async () => {
    const r = await cacheReport(q);
    expect(r.tenants).toEqual([
      { tenant: 'acme', requests: 4, prompt_tokens: 4000, cached_tokens: 2500, hit_rate: 0.625 },
      { tenant: 'beta', requests: 2, prompt_tokens: 1000, cached_tokens: 0, hit_rate: 0 },
    ]);
    expect(r.backends).toEqual([
      { tenant: 'acme', pool: 'gpu', backend: 'b0', requests: 3, prompt_tokens: 3000, cached_tokens: 2500, hit_rate: 2500 / 3000 },
      { tenant: 'acme', pool: 'gpu', backend: 'b1', requests: 1, prompt_tokens: 1000, cached_tokens: 0, hit_rate: 0 },
      { tenant: 'beta', pool: 'cpu', backend: 'b0', requests: 2, prompt_tokens: 1000, cached_tokens: 0, hit_rate: 0 },
    ]);
    expect(r.policies).toEqual([
      { policy: 'prefix-affinity', requests: 3, prompt_tokens: 3000, cached_tokens: 2500, hit_rate: 2500 / 3000 },
      { policy: 'round-robin', requests: 3, prompt_tokens: 2000, cached_tokens: 0, hit_rate: 0 },
    ]);
  });

  it('one tenant, and a window', async () => {
    const r = await cacheReport(q, { tenant: 'acme', sinceMs: Date.UTC(2026, 10, 29, 9, 30) });
    expect(r.tenant).toBe('acme');
    expect(r.tenants).toEqual([{ tenant: 'acme', requests: 1, prompt_tokens: 1000, cached_tokens: 1000, hit_rate: 1 }]);
  });

  it('an empty window has no rows and no rates', async () => {
    const r = await cacheReport(q, { sinceMs: Date.UTC(2030, 0, 1) });
    expect(r).toEqual({ tenant: null, since_ms: Date.UTC(2030, 0, 1), tenants: [], backends: [], policies: [] });
  });
});

describe('GET /admin/cache-report', () => {
  const app = (queryable: () => Queryable) => new Hono().route('/admin/cache-report', cacheReportRoutes({ queryable }));

  it('answers the report for the query', async () => {
    const res = await app(() => q).request('/admin/cache-report?tenant=beta');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ tenant: 'beta', tenants: [{ tenant: 'beta', hit_rate: 0 }] });
  });

  it('OpenAI-style errors: a bad tenant or window 400, the store down 503', async () => {
    const bad = await app(() => q).request('/admin/cache-report?tenant=no%20spaces');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'tenant', code: 'invalid_value' } });
    const since = await app(() => q).request('/admin/cache-report?hours=-1');
    expect(await since.json()).toMatchObject({ error: { param: 'hours', code: 'invalid_value' } });
    const down = await app(() => ({ dialect: 'sqlite', table: 'kvroute_events', rows: async () => { throw new Error('disk gone'); } })).request('/admin/cache-report');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: { message: 'The analytics store could not answer: disk gone', type: 'server_error', param: null, code: 'analytics_unavailable' } });
  });
});
