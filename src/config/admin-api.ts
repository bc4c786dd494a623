// The admin API's request shapes: path parameters, query parameters, headers and bodies of every /admin route,
// one zod schema each (the tenant config itself is schema.ts). Routes parse with these and nothing else, so every
// bad input gets the same kind of 400 naming its field (routes/body.ts).
import { z } from 'zod';

export const tenantIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'tenant ids are 1-64 letters, digits, ".", "_" or "-"');

/** `/admin/tenants/:id/...` */
export const tenantPathSchema = z.object({ id: tenantIdSchema });

/** `/admin/tenants/:id/keys/:keyId`: key ids are the 8 hex digits the router generated. */
export const keyPathSchema = tenantPathSchema.extend({
  keyId: z.string().regex(/^[0-9a-f]{8}$/, 'key ids are 8 hex digits, as listed by GET /admin/tenants/:id/keys'),
});

/** `If-Match`: `"3"`, `3` or `W/"3"` (a version ETag); absent or `*` means unconditional. */
export const ifMatchHeaderSchema = z.object({
  'if-match': z
    .string()
    .optional()
    .transform((h, ctx) => {
      const v = h?.trim();
      if (v === undefined || v === '*') return undefined;
      const m = /^(?:W\/)?"?(\d+)"?$/.exec(v);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `must be a version ETag such as "3" (from a GET of the tenant), got ${h}` });
        return z.NEVER;
      }
      return Number(m[1]);
    }),
});

/** `POST /admin/tenants/:id/keys`: both fields optional; an empty body is `{}`. */
export const keyRequestSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  key: z.string().regex(/^\S{16,256}$/, 'an imported key must be 16-256 characters without spaces').optional(),
});

/** Epoch ms, or an ISO-8601 time. */
const timeSchema = z.union(
  [z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))],
  { error: 'must be an ISO 8601 time with an offset (2026-01-31T12:00:00Z) or milliseconds since the epoch' },
);

/** `GET /admin/tenants/:id/drift`. */
export const driftReportQuerySchema = z.strictObject({
  model: z.string().min(1).optional(),
  arm: z.string().optional(),
  window: z.string().min(1).optional(),
  at: timeSchema.optional(),
});

export const DRIFT_REPORT_HINT = 'Query parameters: model, arm, window (a configured window name such as 5m), at (ISO time or epoch ms).';

/** `PUT /admin/tenants/:id/drift/baseline`: one object with every field, so that an error names the field; exactly one form. */
export const baselineBodySchema = z
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
  .transform(({ from, to, trailingDays, restore, label }) => {
    const l = label === undefined ? {} : { label };
    if (restore !== undefined) return { restore, ...l };
    if (trailingDays !== undefined) return { trailingDays, ...l };
    return { from: from!, to: to!, ...l };
  });

export const BASELINE_HINT =
  'Send {"from": <ISO time or epoch ms>, "to": <...>} to freeze the windows of that range, {"trailingDays": N} for a rolling baseline, or {"restore": <version>} to re-activate an earlier one.';

/** The analytics reports' window: `since` (ISO 8601 or ms since the epoch) or `hours` (the last N hours). */
export const reportWindowSchema = z.strictObject({
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
  hours: z.coerce.number().positive().max(24 * 400).optional(),
});

/** The window's start (ms since the epoch), undefined for all time. */
export function sinceMsOf(w: z.output<typeof reportWindowSchema>, now = Date.now()): number | undefined {
  return w.since ?? (w.hours !== undefined ? now - w.hours * 3_600_000 : undefined);
}

/** `GET /admin/tenants/:id/experiments/:name/report` */
export const experimentReportPathSchema = tenantPathSchema.extend({
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'experiment names are letters, digits, and _ . : -'),
});

/** `GET /admin/cache-report` */
export const cacheReportQuerySchema = reportWindowSchema.extend({ tenant: tenantIdSchema.optional() });
