// CORS for browsers that call /v1/* directly. Framework-free: the Hono routes and the Node fast path both ask here.
//
// - A preflight (OPTIONS with Access-Control-Request-Method) carries no API key, so no tenant: it is answered for an
//   origin that some tenant allows (the directory's index of allowed origins), with that origin's max-age.
// - An actual response gets Access-Control-Allow-Origin only when the authenticated tenant allows the origin; a
//   request whose key fails gets them when some tenant allows the origin, so the page can read the 401's message.
// - The router's own response headers are exposed to the page (Access-Control-Expose-Headers), Server-Timing also
//   to its Resource Timing API (Timing-Allow-Origin).
import type { CorsConfig } from '../config/cors.ts';
import type { CorsOriginIndex, TenantDirectory } from '../tenants/directory.ts';

/** Response headers a page may read (the router's own, and what OpenAI's SDKs look at). */
export const EXPOSED_HEADERS = [
  'x-request-id',
  'x-kvroute-backend',
  'x-kvroute-decision',
  'x-kvroute-arm',
  'x-kvroute-overhead-ms',
  'server-timing',
  'retry-after',
].join(', ');

const ALLOWED_METHODS = 'GET, POST, OPTIONS';

/** Whether `cors` lets `origin` in (configs stored before the field existed have none: no browser access). */
export function allowsOrigin(cors: CorsConfig | undefined, origin: string): boolean {
  return !!cors && (cors.allowOrigins.includes(origin) || cors.allowOrigins.includes('*'));
}

/** The preflight max-age for `origin` from the index, or null when no tenant allows it. */
export function preflightMaxAge(index: CorsOriginIndex, origin: string): number | null {
  const exact = index.get(origin);
  const any = index.get('*');
  if (exact === undefined && any === undefined) return null;
  return Math.min(exact ?? Infinity, any ?? Infinity);
}

/** Headers of an allowed actual response. */
export function actualResponseHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSED_HEADERS,
    'timing-allow-origin': origin,
    vary: 'Origin',
  };
}

/** Headers of an allowed preflight: the method and the headers the page asked for (the SDKs send several). */
export function preflightHeaders(origin: string, maxAgeSeconds: number, requestedHeaders: string | null): Record<string, string> {
  const h: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': ALLOWED_METHODS,
    'access-control-max-age': String(maxAgeSeconds),
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  if (requestedHeaders) h['access-control-allow-headers'] = requestedHeaders;
  return h;
}

/** CORS headers for an actual response to `origin` (empty when the origin is not allowed). Never rejects. */
export async function corsHeadersFor(directory: TenantDirectory, origin: string, authorization: string | null): Promise<Record<string, string>> {
  try {
    const { tenant } = await directory.authenticate(authorization);
    return allowsOrigin(tenant.config.cors, origin) ? actualResponseHeaders(origin) : {};
  } catch {
    // No valid key: the answer is an error the page should be able to read if its origin is known at all.
    try {
      return preflightMaxAge(await directory.corsOrigins(), origin) === null ? {} : actualResponseHeaders(origin);
    } catch {
      return {};
    }
  }
}
