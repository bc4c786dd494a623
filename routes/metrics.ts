import { Hono } from 'hono';
import type { Platform } from '../src/runtimes/platform.ts';
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
    // Cache receipts: what the engines said their responses served from cache (docs/engines.md).
    const responses: string[] = [
      '# HELP kvroute_backend_responses_total Finished responses, by whether the engine stated its cached tokens (a cache receipt).',
      '# TYPE kvroute_backend_responses_total counter',
    ];
    const promptTokens: string[] = ['# HELP kvroute_backend_prompt_tokens_total Prompt tokens of the responses with a cache receipt.', '# TYPE kvroute_backend_prompt_tokens_total counter'];
    const cachedTokens: string[] = [
      '# HELP kvroute_backend_cached_tokens_total Of those, prompt tokens the engine served from its prefix cache.',
      '# TYPE kvroute_backend_cached_tokens_total counter',
    ];
    p.states.expire(p.now()); // what it shows counts only attempts that are still alive
    for (const [url, s] of p.states.entries()) {
      const backend = url.replace(/"/g, '\\"');
      const l = `{backend="${backend}"}`;
      lines.push(`kvroute_backend_inflight${l} ${s.inflight}`);
      breaker.push(`kvroute_backend_circuit_open${l} ${s.breaker.state === 'closed' ? 0 : 1}`);
      healthy.push(`kvroute_backend_healthy${l} ${s.breaker.healthy ? 1 : 0}`);
      const r = s.receipts;
      responses.push(`kvroute_backend_responses_total{backend="${backend}",receipt="yes"} ${r.withReceipt}`);
      responses.push(`kvroute_backend_responses_total{backend="${backend}",receipt="no"} ${r.responses - r.withReceipt}`);
      promptTokens.push(`kvroute_backend_prompt_tokens_total${l} ${r.promptTokens}`);
      cachedTokens.push(`kvroute_backend_cached_tokens_total${l} ${r.cachedTokens}`);
    }
    return c.text([...lines, ...breaker, ...healthy, ...responses, ...promptTokens, ...cachedTokens, ...(p.processMetrics?.() ?? []), ''].join('\n'), 200, { 'content-type': 'text/plain; version=0.0.4' });
  });
  return app;
}
