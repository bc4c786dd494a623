// Admin surface for experiments: GET /:name/report, mounted by the app under /admin/tenants/:id/experiments
// behind admin auth:
//   app.route('/admin/tenants/:id/experiments', experimentRoutes({ queryable, experimentExists }))
// HTTP only: parse the path and query (src/config/admin-api.ts), call experimentReport(), shape errors the OpenAI way.
import { Hono, type Context } from 'hono';
import { experimentReportPathSchema, reportWindowSchema, sinceMsOf } from '../src/config/admin-api.ts';
import { errorResponse } from '../src/api/errors.ts';
import { experimentReport } from '../src/experiments/report.ts';
import { type Queryable } from '../src/analytics/queryable.ts';
import { parseParams, parseQuery } from './body.ts';
import { reportError, storeUnavailable } from './report-query.ts';

export interface ExperimentRoutesDeps {
  /** The analytics store to query for a tenant (ClickHouse when configured, else SQLite / D1). */
  queryable(tenantId: string, c: Context): Queryable | Promise<Queryable>;
  /** Whether the tenant's config has this experiment; unknown ones get 404. Omit to report any name. */
  experimentExists?(tenantId: string, name: string, c: Context): boolean | Promise<boolean>;
}

export function experimentRoutes(deps: ExperimentRoutesDeps): Hono {
  const app = new Hono();
  app.onError((err) => errorResponse(err));
  app.get('/:name/report', async (c) => {
    const { id, name } = parseParams(c, experimentReportPathSchema);
    const query = parseQuery(c, reportWindowSchema);
    if (deps.experimentExists && !(await deps.experimentExists(id, name, c))) {
      return reportError(c, 404, 'not_found_error', `Tenant '${id}' has no experiment '${name}'.`, 'name', 'experiment_not_found');
    }
    const sinceMs = sinceMsOf(query);
    try {
      const report = await experimentReport(await deps.queryable(id, c), id, name, { sinceMs });
      return c.json(report);
    } catch (err) {
      return storeUnavailable(c, err);
    }
  });
  return app;
}
