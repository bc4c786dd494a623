// CORS on /v1/*: answers preflights, and adds the allow headers to actual responses (decisions in src/core/cors.ts).
import type { MiddlewareHandler } from 'hono';
import { corsHeadersFor, preflightHeaders, preflightMaxAge } from '../src/core/cors.ts';
import { errorResponse, HttpError } from '../src/api/errors.ts';
import type { TenantDirectory } from '../src/tenants/directory.ts';

export function corsMiddleware(directory: TenantDirectory): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (!origin) return next();
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      const maxAge = preflightMaxAge(await directory.corsOrigins(), origin);
      if (maxAge === null) {
        return errorResponse(new HttpError(403, 'permission_error', `Origin '${origin}' is not allowed. Add it to a tenant's cors.allowOrigins.`, 'origin_not_allowed'), { vary: 'Origin' });
      }
      return new Response(null, { status: 204, headers: preflightHeaders(origin, maxAge, c.req.header('access-control-request-headers') ?? null) });
    }
    await next();
    const headers = await corsHeadersFor(directory, origin, c.req.header('authorization') ?? null);
    for (const [name, value] of Object.entries(headers)) {
      if (name === 'vary') c.res.headers.append('vary', value);
      else c.res.headers.set(name, value);
    }
  };
}
