// /admin/tenants/:id/drift: the tenant's live drift report and its baselines. HTTP only: parse, call the drift
// store, shape errors. Mounted by the admin router behind its admin auth:
//   admin.route('/tenants/:id/drift', driftRoutes({ store }))
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { errorResponse, HttpError } from '../src/api/errors.ts';
import type { BaselineRequest, DriftStore } from '../src/drift/store.ts';
import { parseBody } from './body.ts';

/** Epoch ms, or an ISO-8601 time. */
const timeSchema = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+$/).transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const reportQuerySchema = z.object({
  model: z.string().min(1).optional(),
  arm: z.string().optional(),
  window: z.string().min(1).optional(),
  at: timeSchema.optional(),
});

/** One object with every field, so that an error names the field; exactly one of the three forms is allowed. */
const baselineBodySchema = z
  .strictObject({
    from: timeSchema.optional(),
    to: timeSchema.optional(),
    trailingDays: z.number().int().min(1).max(365).optional(),
    restore: z.number().int().positive().optional(),
    label: z.string().max(200).optional(),
  })
  .superRefine((b, ctx) => {
    const range = b.from !== undefined || b.to !== undefined;
    const forms = [range, b.trailingDays !== undefined, b.restore !== undefined].filter(Boolean).length;
    if (forms !== 1) ctx.addIssue({ code: 'custom', message: 'send exactly one of from/to, trailingDays or restore' });
    else if (range && b.from === undefined) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from and to go together' });
    else if (range && b.to === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'from and to go together' });
  })
  .transform(({ from, to, trailingDays, restore, label }): BaselineRequest => {
    const l = label === undefined ? {} : { label };
    if (restore !== undefined) return { restore, ...l };
    if (trailingDays !== undefined) return { trailingDays, ...l };
    return { from: from!, to: to!, ...l };
  });

const BASELINE_HINT =
  'Send {"from": <ISO time or epoch ms>, "to": <...>} to freeze the windows of that range, {"trailingDays": N} for a rolling baseline, or {"restore": <version>} to re-activate an earlier one.';

function invalid(param: string | null, message: string): HttpError {
  return new HttpError(400, 'invalid_request_error', message, 'invalid_value', param);
}

function firstIssue(err: z.ZodError): { param: string | null; message: string } {
  const issue = err.issues[0];
  const param = issue?.path.length ? issue.path.join('.') : null;
  return { param, message: `${param ? `'${param}': ` : ''}${issue?.message ?? 'invalid input'}` };
}

function tenantOf(c: Context): string {
  const id = c.req.param('id');
  if (!id) throw invalid('id', 'the drift routes must be mounted under a path with an :id parameter');
  return id;
}

/** Store errors that are the caller's fault (unknown window, empty range) come back as RangeError. */
function rethrow(err: unknown): never {
  if (err instanceof RangeError) throw invalid(null, err.message);
  throw err;
}

export function driftRoutes(deps: { store: DriftStore }): Hono {
  const app = new Hono();
  app.onError((err) => errorResponse(err));

  app.get('/', async (c) => {
    const parsed = reportQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const { param, message } = firstIssue(parsed.error);
      throw invalid(param, `${message}. Query parameters: model, arm, window (a configured window name such as 5m), at (ISO time or epoch ms).`);
    }
    const report = await deps.store.report(tenantOf(c), parsed.data).catch(rethrow);
    return c.json(report);
  });

  app.get('/baseline', async (c) => c.json(await deps.store.getBaselines(tenantOf(c))));

  app.put('/baseline', async (c) => {
    const body = await parseBody(c, baselineBodySchema, { hint: BASELINE_HINT });
    const baseline = await deps.store.putBaseline(tenantOf(c), body).catch(rethrow);
    return c.json(baseline, 201);
  });

  return app;
}
