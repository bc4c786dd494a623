// Admin surface for the cache report: GET / (mounted at /admin/cache-report behind admin auth), the prefix-cache hit
// rate the engines stated in their responses, per tenant, backend and routing policy (src/analytics/cache-report.ts).
// Query: `tenant` (one tenant; all when absent), `since` or `hours` (the window).
// HTTP only: validate the query, call cacheReport(), shape errors the OpenAI way.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { cacheReport } from '../src/analytics/cache-report.ts';
import type { Queryable } from '../src/analytics/queryable.ts';
import { invalidValue, reportWindowSchema, sinceMsOf, storeUnavailable } from './report-query.ts';

export interface CacheReportRoutesDeps {
  /** The analytics store (ClickHouse when configured, else SQLite / D1). */
  queryable(c: Context): Queryable | Promise<Queryable>;
}

const querySchema = reportWindowSchema.extend({
  tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'tenant ids are 1-64 letters, digits, ".", "_" or "-"').optional(),
});

export function cacheReportRoutes(deps: CacheReportRoutesDeps): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const query = querySchema.safeParse({ since: c.req.query('since'), hours: c.req.query('hours'), tenant: c.req.query('tenant') });
    if (!query.success) return invalidValue(c, query.error);
    try {
      return c.json(await cacheReport(await deps.queryable(c), { tenant: query.data.tenant, sinceMs: sinceMsOf(query.data) }));
    } catch (err) {
      return storeUnavailable(c, err);
    }
  });
  return app;
}
