// Admin surface for the cache report: GET / (mounted at /admin/cache-report behind admin auth), the prefix-cache hit
// rate the engines stated in their responses, per tenant, backend and routing policy (src/analytics/cache-report.ts).
// Query: `tenant` (one tenant; all when absent), `since` or `hours` (the window).
// HTTP only: parse the query (src/config/admin-api.ts), call cacheReport(), shape errors the OpenAI way.
import { Hono, type Context } from 'hono';
import { cacheReport } from '../src/analytics/cache-report.ts';
import type { Queryable } from '../src/analytics/queryable.ts';
import { cacheReportQuerySchema, sinceMsOf } from '../src/config/admin-api.ts';
import { errorResponse } from '../src/api/errors.ts';
import { parseQuery } from './body.ts';
import { storeUnavailable } from './report-query.ts';

export interface CacheReportRoutesDeps {
  /** The analytics store (ClickHouse when configured, else SQLite / D1). */
  queryable(c: Context): Queryable | Promise<Queryable>;
}

export function cacheReportRoutes(deps: CacheReportRoutesDeps): Hono {
  const app = new Hono();
  app.onError((err) => errorResponse(err));
  app.get('/', async (c) => {
    const query = parseQuery(c, cacheReportQuerySchema);
    try {
      return c.json(await cacheReport(await deps.queryable(c), { tenant: query.tenant, sinceMs: sinceMsOf(query) }));
    } catch (err) {
      return storeUnavailable(c, err);
    }
  });
  return app;
}
