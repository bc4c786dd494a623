// What the analytics report routes share: the report's time window from the query string (`since`, ISO 8601 or
// ms since the epoch, or `hours`, the last N hours) and their OpenAI-style error answers.
import type { Context } from 'hono';
import { z } from 'zod';

export const reportWindowSchema = z.object({
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

/** The window's start (ms since the epoch), undefined for all time. */
export function sinceMsOf(w: z.output<typeof reportWindowSchema>, now = Date.now()): number | undefined {
  return w.since ?? (w.hours !== undefined ? now - w.hours * 3_600_000 : undefined);
}

export function reportError(c: Context, status: 400 | 404 | 503, type: string, message: string, param: string | null, code: string) {
  return c.json({ error: { message, type, param, code } }, status);
}

/** 400 naming the first invalid parameter. */
export function invalidValue(c: Context, error: z.ZodError) {
  const issue = error.issues[0]!;
  const param = String(issue.path[0]);
  return reportError(c, 400, 'invalid_request_error', `Invalid value for '${param}': ${issue.message}`, param, 'invalid_value');
}

/** 503 when the analytics store could not answer. */
export function storeUnavailable(c: Context, err: unknown) {
  return reportError(c, 503, 'server_error', `The analytics store could not answer: ${err instanceof Error ? err.message : String(err)}`, null, 'analytics_unavailable');
}
