// Active probes: the router reads each backend's health path and load metrics through its engine adapter,
// without any client traffic, and a backend that stops answering is taken out of rotation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { startSimPool, type SimPool } from '../../helpers/sim-pool.ts';

let pool: SimPool;
let router: NodeRouter;

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  pool = await startSimPool(2, ['--time-scale', '20']);
  const store = new MemoryTenantStore();
  const cfg = parseTenantConfig({
    models: { m: { pool: 'p', model: 'llama-3.1-8b' } },
    pools: { p: { backends: pool.urls.map((url, i) => ({ id: `b${i}`, url, engine: 'vllm' })) } },
    health: { failureThreshold: 2, cooldownMs: 60_000, probeIntervalMs: 100 },
  });
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  await store.putTenant('t', cfg.value);
  router = await startNodeRouter({ store });
}, 60_000);

afterAll(async () => {
  await router?.close();
  await pool?.stop();
});

describe('active probes', () => {
  it('read engine load from /metrics through the vLLM adapter', async () => {
    const s = router.platform.states.get(pool.urls[0]!);
    await until(() => s.engineObservedAt > 0);
    expect(s.engine.running).toBe(0);
    expect(s.engine.waiting).toBe(0);
    expect(s.engine.kvUsage).toBeGreaterThanOrEqual(0);
  });

  it('turn the engine\'s prefix-cache counters into a cache fill rate', async () => {
    const s = router.platform.states.get(pool.urls[1]!);
    await until(() => s.load().fillRate !== undefined); // two probes of an idle engine
    expect(s.load().fillRate).toBe(0);
    const prompt = 'A document nobody has sent before. '.repeat(200);
    const res = await fetch(`${pool.urls[1]}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3.1-8b', prompt, max_tokens: 4 }),
    });
    expect(res.status).toBe(200);
    await res.text();
    await until(() => (s.engine.uncachedPromptTokens ?? 0) > 0);
    expect(s.load().fillRate!).toBeGreaterThan(0);
  });

  it('mark a backend that refuses connections unhealthy, with no client traffic', async () => {
    const s = router.platform.states.get(pool.urls[1]!);
    expect(s.breaker.healthy).toBe(true);
    await pool.setFaults(1, { refuseConnections: { ms: 100_000 } });
    await until(() => !s.breaker.healthy);
    expect(s.breaker.allows(router.platform.now())).toBe(false);
    expect(router.platform.states.get(pool.urls[0]!).breaker.healthy).toBe(true);
  });
});
