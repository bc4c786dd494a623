// Cache receipts end to end: the Node router in front of real simulator processes (vLLM with
// --enable-prompt-tokens-details). The prompt and cached tokens it counts per backend from its responses' receipts
// (GET /metrics), and the hit rate the cache report measures from the stored events, equal the engines' own
// prefix-cache counters, for JSON and SSE, chat and completions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheReport } from '../../../src/analytics/cache-report.ts';
import { createNodeAnalytics, type NodeAnalytics } from '../../../src/runtimes/node-analytics.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { metricValue, startSimPool, type SimPool } from '../../helpers/sim-pool.ts';
import { anyOf } from '../../helpers/matchers.ts';

const ADMIN = 'receipts-admin-token';
const KEY = 'kvr-receipts-key-0123456789';
let pool: SimPool;
let router: NodeRouter;
let analytics: NodeAnalytics;
const dir = mkdtempSync(join(tmpdir(), 'kvr-receipts-'));

beforeAll(async () => {
  pool = await startSimPool(2, ['--time-scale', '50']);
  const cfg = parseTenantConfig({
    models: { m: { pool: 'p', model: 'llama-3.1-8b' } },
    pools: { p: { backends: pool.urls.map((url, i) => ({ id: `b${i}`, url, engine: 'vllm' })) } },
    health: { probeIntervalMs: 0 },
  });
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  const store = new MemoryTenantStore();
  await store.putTenant('t', cfg.value);
  await store.putKey({ keyId: 'k1', tenantId: 't', hash: await sha256Hex(KEY), createdAt: new Date(0).toISOString() });
  analytics = await createNodeAnalytics({ sqlitePath: join(dir, 'a.db'), spoolDir: join(dir, 'spool'), buffer: { lingerMs: 5 } });
  router = await startNodeRouter({ store, adminToken: ADMIN, analytics });
}, 60_000);

afterAll(async () => {
  await router?.close();
  await analytics?.close();
  await pool?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function routerMetrics(): Promise<string> {
  return (await fetch(`${router.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
}

describe('receipts counted by the router', () => {
  it('per backend, equal the engines\' own prefix-cache counters', async () => {
    const prefixes = ['You are a billing agent. ', 'You are a travel agent. ', 'You are a code reviewer. '].map((p) => p.repeat(80));
    let sent = 0;
    for (let round = 0; round < 3; round++) {
      for (const [i, prefix] of prefixes.entries()) {
        const stream = (round + i) % 2 === 1;
        const chat = i !== 2;
        const body = chat
          ? { model: 'm', max_tokens: 4, stream, messages: [{ role: 'system', content: prefix }, { role: 'user', content: `question ${round}` }], ...(stream ? { stream_options: { include_usage: true } } : {}) }
          : { model: 'm', max_tokens: 4, stream, prompt: `${prefix} question ${round}`, ...(stream ? { stream_options: { include_usage: true } } : {}) };
        const res = await fetch(`${router.url}/v1/${chat ? 'chat/completions' : 'completions'}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(200);
        await res.text();
        sent++;
      }
    }
    // The after-response work runs off the request path: wait until every response is counted (bounded).
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await routerMetrics();
      if (metricValue(text, 'kvroute_backend_responses_total') === sent) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(metricValue(text, 'kvroute_backend_responses_total', 'receipt="yes"')).toBe(sent);
    let cachedAll = 0;
    for (const [i, url] of pool.urls.entries()) {
      const engine = await pool.metrics(i);
      const label = `backend="${url}"`;
      expect(metricValue(text, 'kvroute_backend_prompt_tokens_total', label)).toBe(metricValue(engine, 'vllm:prefix_cache_queries_total'));
      expect(metricValue(text, 'kvroute_backend_cached_tokens_total', label)).toBe(metricValue(engine, 'vllm:prefix_cache_hits_total'));
      cachedAll += metricValue(text, 'kvroute_backend_cached_tokens_total', label);
    }
    expect(cachedAll).toBeGreaterThan(0); // repeated prefixes were served from cache, and the receipts said so

    // The stored events carry the receipts: the report's hit rate per backend is the engine's own.
    expect(await analytics.buffer.drain(10_000)).toBe(true);
    const report = (await (await fetch(`${router.url}/admin/cache-report?tenant=t`, { headers: { authorization: `Bearer ${ADMIN}` } })).json<unknown>()) as CacheReport;
    for (const [i, url] of pool.urls.entries()) {
      const engine = await pool.metrics(i);
      const row = report.backends.find((b) => b.backend === `b${i}`);
      expect(row, url).toBeDefined();
      expect(row!.hit_rate).toBeCloseTo(metricValue(engine, 'vllm:prefix_cache_hits_total') / metricValue(engine, 'vllm:prefix_cache_queries_total'), 12);
    }
    expect(report.tenants).toEqual([{ tenant: 't', requests: sent, prompt_tokens: anyOf(Number), cached_tokens: cachedAll, hit_rate: anyOf(Number) }]);
    expect(report.policies.map((p) => p.policy)).toEqual(['prefix-affinity']);
  });
});
