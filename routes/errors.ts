import type { Context } from 'hono';
import { errorResponse } from '../src/api/errors.ts';

export function onAppError(err: Error, _c: Context): Response {
  return errorResponse(err);
}
