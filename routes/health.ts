import { Hono } from 'hono';
import type { Platform } from '../src/platform.ts';

/** Liveness of the router itself (backends have their own view under /admin/backends). */
export function healthRoutes(p: Platform): Hono {
  const app = new Hono();
  app.get('/', (c) => c.json({ status: 'ok', runtime: p.runtime }));
  return app;
}
