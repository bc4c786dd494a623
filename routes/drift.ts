// /admin/tenants/:id/drift: the tenant's live drift report and its baselines. HTTP only: parse, call the drift
// store, shape errors. Mounted by the admin router behind its admin auth:
//   admin.route('/tenants/:id/drift', driftRoutes({ store }))
import { Hono } from 'hono';
import { baselineBodySchema, BASELINE_HINT, DRIFT_REPORT_HINT, driftReportQuerySchema, tenantPathSchema } from '../src/config/admin-api.ts';
import { errorResponse, HttpError } from '../src/api/errors.ts';
import type { DriftStore } from '../src/drift/store.ts';
import { parseBody, parseParams, parseQuery } from './body.ts';

/** Store errors that are the caller's fault (unknown window, empty range) come back as RangeError. */
function rethrow(err: unknown): never {
  if (err instanceof RangeError) throw new HttpError(400, 'invalid_request_error', err.message, 'invalid_value', null);
  throw err;
}

export function driftRoutes(deps: { store: DriftStore }): Hono {
  const app = new Hono();
  app.onError((err) => errorResponse(err));

  app.get('/', async (c) => {
    const { id } = parseParams(c, tenantPathSchema);
    const query = parseQuery(c, driftReportQuerySchema, DRIFT_REPORT_HINT);
    const report = await deps.store.report(id, query).catch(rethrow);
    return c.json(report);
  });

  app.get('/baseline', async (c) => c.json(await deps.store.getBaselines(parseParams(c, tenantPathSchema).id)));

  app.put('/baseline', async (c) => {
    const { id } = parseParams(c, tenantPathSchema);
    const body = await parseBody(c, baselineBodySchema, { hint: BASELINE_HINT });
    const baseline = await deps.store.putBaseline(id, body).catch(rethrow);
    return c.json(baseline, 201);
  });

  return app;
}
