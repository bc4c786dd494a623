// Admin surface for experiments: GET /:name/report, mounted by the app under /admin/tenants/:id/experiments
// behind admin auth:
//   app.route('/admin/tenants/:id/experiments', experimentRoutes({ queryable, experimentExists }))
// HTTP only: validate params, call experimentReport(), shape errors the OpenAI way.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { experimentReport } from '../src/experiments/report.ts';
import { type Queryable } from '../src/analytics/queryable.ts';
import { invalidValue, reportError, reportWindowSchema, sinceMsOf, storeUnavailable } from './report-query.ts';

export interface ExperimentRoutesDeps {
  /** The analytics store to query for a tenant (ClickHouse when configured, else SQLite / D1). */
  queryable(tenantId: string, c: Context): Queryable | Promise<Queryable>;
  /** Whether the tenant's config has this experiment; unknown ones get 404. Omit to report any name. */
  experimentExists?(tenantId: string, name: string, c: Context): boolean | Promise<boolean>;
}

const paramsSchema = z.object({
  id: z.string().min(1).max(128),
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits, and _ . : -'),
});

export function experimentRoutes(deps: ExperimentRoutesDeps): Hono {
  const app = new Hono();
  app.get('/:name/report', async (c) => {
    const params = paramsSchema.safeParse({ id: c.req.param('id'), name: c.req.param('name') });
    if (!params.success) return invalidValue(c, params.error);
    const query = reportWindowSchema.safeParse({ since: c.req.query('since'), hours: c.req.query('hours') });
    if (!query.success) return invalidValue(c, query.error);
    const { id, name } = params.data;
    if (deps.experimentExists && !(await deps.experimentExists(id, name, c))) {
      return reportError(c, 404, 'not_found_error', `Tenant '${id}' has no experiment '${name}'.`, 'name', 'experiment_not_found');
    }
    const sinceMs = sinceMsOf(query.data);
    try {
      const report = await experimentReport(await deps.queryable(id, c), id, name, { sinceMs });
      return c.json(report);
    } catch (err) {
      return storeUnavailable(c, err);
    }
  });
  return app;
}
