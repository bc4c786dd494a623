import type { Context, Next } from 'hono';
import { errors, HttpError } from '../src/errors.ts';
import type { Platform } from '../src/platform.ts';
import { sha256Hex, timingSafeEqual } from '../src/tenants/keys.ts';
import { errorResponse } from './errors.ts';

/** Middleware: `Authorization: Bearer <admin token>`; tenant API keys are never admin tokens. */
export function requireAdmin(p: Platform) {
  return async (c: Context, next: Next) => {
    if (!p.adminTokenHash) return errorResponse(errors.forbidden('The admin API is disabled: set KVROUTE_ADMIN_TOKEN.'));
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!m) return errorResponse(errors.noKey());
    if (!timingSafeEqual(await sha256Hex(m[1]!), p.adminTokenHash)) {
      return errorResponse(new HttpError(403, 'permission_error', 'This key is not an admin token.', 'not_admin'));
    }
    await next();
  };
}
