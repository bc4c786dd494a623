// createApp(platform): the one Hono app both runtimes serve.
import { Hono } from 'hono';
import { adminRoutes } from '../routes/admin.ts';
import { errorResponse, onAppError } from '../routes/errors.ts';
import { healthRoutes } from '../routes/health.ts';
import { metricsRoutes } from '../routes/metrics.ts';
import { openaiRoutes } from '../routes/openai.ts';
import { errors } from './errors.ts';
import type { Platform } from './platform.ts';

export function createApp(platform: Platform): Hono {
  const app = new Hono();
  app.route('/v1', openaiRoutes(platform));
  app.route('/admin', adminRoutes(platform));
  app.route('/health', healthRoutes(platform));
  app.route('/metrics', metricsRoutes(platform));
  app.notFound((c) => errorResponse(errors.notFound(`No route for ${c.req.method} ${new URL(c.req.url).pathname}.`)));
  app.onError(onAppError);
  return app;
}
