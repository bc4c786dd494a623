import { Hono } from 'hono';
import type { Platform } from '../src/runtimes/platform.ts';

/** Liveness of the router itself (backends have their own view under /admin/backends); 503 while it drains. */
export function healthRoutes(p: Platform): Hono {
  const app = new Hono();
  app.get('/', (c) => (p.draining?.() ? c.json({ status: 'draining', runtime: p.runtime }, 503) : c.json({ status: 'ok', runtime: p.runtime })));
  return app;
}
