import type { Context } from 'hono';
import { toErrorResponse } from '../src/errors.ts';

/** Renders any error as OpenAI-style JSON with its status and extra headers. */
export function errorResponse(err: unknown, extraHeaders: Record<string, string> = {}): Response {
  const { status, body, headers } = toErrorResponse(err);
  if (status >= 500 && !(err && typeof err === 'object' && 'status' in err)) console.error('kvroute: unexpected error', err);
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers, ...extraHeaders },
  });
}

export function onAppError(err: Error, _c: Context): Response {
  return errorResponse(err);
}
