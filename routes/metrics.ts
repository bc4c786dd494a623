import { Hono } from 'hono';
import type { Platform } from '../src/platform.ts';
import { requireAdmin } from './admin-auth.ts';

/** Prometheus text of this process's / isolate's view of its backends. */
export function metricsRoutes(p: Platform): Hono {
  const app = new Hono();
  // Backend URLs of every tenant are visible here, so scraping needs the admin token.
  app.use('*', requireAdmin(p));
  app.get('/', (c) => {
    const lines = [
      '# HELP kvroute_backend_inflight Requests this router instance has open to the backend.',
      '# TYPE kvroute_backend_inflight gauge',
    ];
    const breaker: string[] = [
      '# HELP kvroute_backend_circuit_open 1 when inference failures ejected the backend (open or half-open).',
      '# TYPE kvroute_backend_circuit_open gauge',
    ];
    const healthy: string[] = ['# HELP kvroute_backend_healthy 1 when active health probes pass.', '# TYPE kvroute_backend_healthy gauge'];
    p.states.expire(p.now()); // what it shows counts only attempts that are still alive
    for (const [url, s] of p.states.entries()) {
      const l = `{backend="${url.replace(/"/g, '\\"')}"}`;
      lines.push(`kvroute_backend_inflight${l} ${s.inflight}`);
      breaker.push(`kvroute_backend_circuit_open${l} ${s.breaker.state === 'closed' ? 0 : 1}`);
      healthy.push(`kvroute_backend_healthy${l} ${s.breaker.healthy ? 1 : 0}`);
    }
    return c.text([...lines, ...breaker, ...healthy, ...(p.processMetrics?.() ?? []), ''].join('\n'), 200, { 'content-type': 'text/plain; version=0.0.4' });
  });
  return app;
}
