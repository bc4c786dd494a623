// Admin surface for experiments: GET /:name/report, mounted by the app under /admin/tenants/:id/experiments
// behind admin auth:
//   app.route('/admin/tenants/:id/experiments', experimentRoutes({ queryable, experimentExists }))
// HTTP only: validate params, call experimentReport(), shape errors the OpenAI way.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { experimentReport, type Queryable } from '../src/analytics/report.ts';

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

const querySchema = z.object({
  /** ISO 8601 time or ms since the epoch: only events at or after it. */
  since: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (!Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or milliseconds since the epoch' });
        return z.NEVER;
      }
      return ms;
    }),
  /** Alternative to since: the last N hours. */
  hours: z.coerce.number().positive().max(24 * 400).optional(),
});

function errorJson(c: Context, status: 400 | 404 | 503, type: string, message: string, param: string | null, code: string) {
  return c.json({ error: { message, type, param, code } }, status);
}

export function experimentRoutes(deps: ExperimentRoutesDeps): Hono {
  const app = new Hono();
  app.get('/:name/report', async (c) => {
    const params = paramsSchema.safeParse({ id: c.req.param('id'), name: c.req.param('name') });
    if (!params.success) {
      const issue = params.error.issues[0];
      return errorJson(c, 400, 'invalid_request_error', `Invalid value for '${String(issue.path[0])}': ${issue.message}`, String(issue.path[0]), 'invalid_value');
    }
    const query = querySchema.safeParse({ since: c.req.query('since'), hours: c.req.query('hours') });
    if (!query.success) {
      const issue = query.error.issues[0];
      return errorJson(c, 400, 'invalid_request_error', `Invalid value for '${String(issue.path[0])}': ${issue.message}`, String(issue.path[0]), 'invalid_value');
    }
    const { id, name } = params.data;
    if (deps.experimentExists && !(await deps.experimentExists(id, name, c))) {
      return errorJson(c, 404, 'not_found_error', `Tenant '${id}' has no experiment '${name}'.`, 'name', 'experiment_not_found');
    }
    const sinceMs = query.data.since ?? (query.data.hours !== undefined ? Date.now() - query.data.hours * 3_600_000 : undefined);
    try {
      const report = await experimentReport(await deps.queryable(id, c), id, name, { sinceMs });
      return c.json(report);
    } catch (err) {
      return errorJson(c, 503, 'server_error', `The analytics store could not answer: ${err instanceof Error ? err.message : String(err)}`, null, 'analytics_unavailable');
    }
  });
  return app;
}
