// createApp(platform): the one Hono app both runtimes serve, and the one place where every route is mounted.
import { Hono, type Context } from 'hono';
import { errorResponse, errors } from '../src/api/errors.ts';
import type { Platform } from '../src/runtimes/platform.ts';
import { adminRoutes } from './admin.ts';
import { corsMiddleware } from './cors.ts';
import { onAppError } from './errors.ts';
import { healthRoutes } from './health.ts';
import { metricsRoutes } from './metrics.ts';
import { openaiRoutes } from './openai.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Methods with a route (not just middleware) at `path`, HEAD with GET as Hono serves it. */
function allowedMethods(app: Hono, path: string): string[] {
  const allowed: string[] = [];
  for (const m of METHODS) {
    const [handlers] = app.router.match(m, path);
    if (handlers.some(([[, route]]) => route.method !== 'ALL')) allowed.push(m);
  }
  if (allowed.includes('GET')) allowed.splice(1, 0, 'HEAD');
  return allowed;
}

export function createApp(platform: Platform): Hono {
  // Not strict: `/v1/chat/completions/` is `/v1/chat/completions`.
  const app = new Hono({ strict: false });
  app.use('/v1/*', corsMiddleware(platform.directory));
  app.route('/v1', openaiRoutes(platform));
  app.route('/admin', adminRoutes(platform));
  app.route('/health', healthRoutes(platform));
  app.route('/metrics', metricsRoutes(platform));
  // No route for this method: 405 with Allow when the path has routes for other methods (OPTIONS lists them).
  app.notFound((c: Context) => {
    const path = c.req.path;
    const allowed = allowedMethods(app, path);
    if (allowed.length === 0) return errorResponse(errors.notFound(`No route for ${c.req.method} ${new URL(c.req.url).pathname}.`));
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow: [...allowed, 'OPTIONS'].join(', ') } });
    return errorResponse(errors.methodNotAllowed(c.req.method, path, allowed));
  });
  app.onError(onAppError);
  return app;
}
