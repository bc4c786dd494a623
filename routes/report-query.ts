// What the analytics report routes share: their OpenAI-style error answers. Their inputs are parsed with the
// schemas in src/config/admin-api.ts (routes/body.ts).
import type { Context } from 'hono';

export function reportError(c: Context, status: 400 | 404 | 503, type: string, message: string, param: string | null, code: string) {
  return c.json({ error: { message, type, param, code } }, status);
}

/** 503 when the analytics store could not answer. */
export function storeUnavailable(c: Context, err: unknown) {
  return reportError(c, 503, 'server_error', `The analytics store could not answer: ${err instanceof Error ? err.message : String(err)}`, null, 'analytics_unavailable');
}
