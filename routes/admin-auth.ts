import type { Context, Next } from 'hono';
import { errorResponse, errors, HttpError } from '../src/api/errors.ts';
import type { Platform } from '../src/runtimes/platform.ts';
import { sha256Hex, timingSafeEqual } from '../src/tenants/keys.ts';

/**
 * Whether a request target's path has a `.` or `..` segment, in any spelling a URL parser would resolve: plain,
 * percent-encoded (also twice), or separated by `\` or an encoded slash. Normalisation would make
 * `/admin/tenants/x/../victim` act on `victim`, behind the back of anything that authorised the path as written.
 */
export function hasDotSegment(target: string): boolean {
  let path = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0]!;
  for (let i = 0; i < 3; i++) {
    const decoded = path.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (decoded === path) break;
    path = decoded;
  }
  return path.split(/[/\\]/).some((seg) => seg === '.' || seg === '..');
}

/**
 * Middleware for the admin surface: refuses dot-segments in the raw path (400), then requires
 * `Authorization: Bearer <admin token>`; tenant API keys are never admin tokens.
 */
export function requireAdmin(p: Platform) {
  return async (c: Context, next: Next) => {
    if (hasDotSegment(p.requestTarget?.(c) ?? c.req.url)) {
      return errorResponse(
        new HttpError(400, 'invalid_request_error', "The request path has '.' or '..' segments (plain or percent-encoded). Send the path without them.", 'invalid_path'),
      );
    }
    if (!p.adminTokenHash) return errorResponse(errors.forbidden('The admin API is disabled: set KVROUTE_ADMIN_TOKEN.'));
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!m) return errorResponse(errors.noKey());
    if (!timingSafeEqual(await sha256Hex(m[1]!), p.adminTokenHash)) {
      return errorResponse(new HttpError(403, 'permission_error', 'This key is not an admin token.', 'not_admin'));
    }
    await next();
  };
}
