// Engine reporting and probe credentials over real sockets: a simulator (it presents itself as vLLM) configured as
// llama-cpp, one whose engine is left out, and engines that want an API key. Nothing is silent: each problem is in
// GET /admin/backends and logged once per backend and kind; the backend's apiKey goes with every probe.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseTenantConfig, type TenantConfigInput } from '../../../src/config/schema.ts';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { startKeyedEngine, type KeyedEngine } from '../../helpers/keyed-engine.ts';
import { startSimPool, type SimPool } from '../../helpers/sim-pool.ts';
import { backendsOf, type BackendView } from '../../helpers/responses.ts';

const ADMIN = 'engine-report-admin-token';
let pool: SimPool;
let keyed: KeyedEngine;
let router: NodeRouter;
const warnings: string[] = [];

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function backends(): Promise<Record<string, BackendView>> {
  return backendsOf(await fetch(`${router.url}/admin/backends`, { headers: { authorization: `Bearer ${ADMIN}` } }));
}

beforeAll(async () => {
  vi.spyOn(console, 'warn').mockImplementation((m: string) => void warnings.push(m));
  pool = await startSimPool(2, ['--time-scale', '20']);
  keyed = await startKeyedEngine('engine-secret');
  const cfg = (backends: TenantConfigInput['pools'][string]['backends']) => {
    const r = parseTenantConfig({ models: { m: { pool: 'p', model: 'llama-3.1-8b' } }, pools: { p: { backends } }, health: { probeIntervalMs: 100 } });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return r.value;
  };
  const store = new MemoryTenantStore();
  await store.putTenant('a', cfg([
    { id: 'wrong-kind', url: pool.urls[0]!, engine: 'llama-cpp' },
    { id: 'unset', url: pool.urls[1]! },
    { id: 'keyed', url: keyed.url, engine: 'llama-cpp', apiKey: 'engine-secret' },
  ]));
  // Another tenant names the keyed engine without its key: the probe uses the key some config has for that URL.
  await store.putTenant('b', cfg([{ id: 'same-engine', url: keyed.url, engine: 'llama-cpp' }]));
  router = await startNodeRouter({ store, adminToken: ADMIN });
}, 60_000);

afterAll(async () => {
  await router?.close();
  await keyed?.close();
  await pool?.stop();
  vi.restoreAllMocks();
});

describe('engine reports', () => {
  it('a simulator configured as llama-cpp: its metrics do not match, and it looks like vllm', async () => {
    await until(async () => (await backends())[pool.urls[0]!]?.engineReport != null);
    expect((await backends())[pool.urls[0]!]!.engineReport).toBe(
      "metrics do not match engine 'llama-cpp': none of llamacpp:requests_processing, llamacpp:requests_deferred, llamacpp:kv_cache_usage_ratio, llamacpp:prompt_tokens_total found; looks like vllm",
    );
  });

  it('a backend whose engine is left out: vllm is assumed (its metrics are read) and that is reported', async () => {
    await until(async () => (await backends())[pool.urls[1]!]?.engineObservedAt != null);
    const b = (await backends())[pool.urls[1]!]!;
    expect(b.engine.running).toBe(0); // read as vLLM
    expect(b.engineReport).toBe("engine not set: assumed 'vllm'; set the backend's engine");
  });

  it('each problem is logged once per backend and kind, however many probe rounds see it', async () => {
    await new Promise((r) => setTimeout(r, 600)); // several more rounds at 100 ms
    const mine = warnings.filter((w) => w.includes(pool.urls[0]!) || w.includes(pool.urls[1]!));
    expect(mine).toHaveLength(2);
    expect(mine.some((w) => w.includes(pool.urls[0]!) && w.includes('looks like vllm'))).toBe(true);
    expect(mine.some((w) => w.includes(pool.urls[1]!) && w.includes('engine not set'))).toBe(true);
  });
});

describe('probes carry the backend\'s credentials', () => {
  it('an engine that wants a key answers its metrics and slots to the probes: load and slots are read', async () => {
    await until(async () => (await backends())[keyed.url]?.engineObservedAt != null);
    const b = (await backends())[keyed.url]!;
    expect(b.engine).toMatchObject({ running: 4, waiting: 46, uncachedPromptTokens: 6886 });
    expect(b.engine.slots).toHaveLength(3);
    expect(b.engineReport).toBeNull();
    for (const path of ['/metrics', '/slots']) expect(new Set(keyed.seen.get(path))).toEqual(new Set(['Bearer engine-secret']));
    expect(router.platform.states.get(keyed.url).load()).toMatchObject({ running: 4, slotsBusy: 1, slotsTotal: 3 });
  });
});

describe('llama.cpp engines as they run', () => {
  let quiet: KeyedEngine;
  let slow: KeyedEngine;
  let r3: NodeRouter;
  afterAll(async () => {
    await r3?.close();
    await quiet?.close();
    await slow?.close();
  });

  it('without --metrics: its busy slots are its running requests, and the missing metrics are reported', async () => {
    quiet = await startKeyedEngine('k', { noMetrics: true });
    // Its main loop answers /metrics 2.5 s late: longer than other engines' scrapes may take, and still read.
    slow = await startKeyedEngine('k', { metricsDelayMs: 2_500 });
    const store = new MemoryTenantStore();
    const cfg = parseTenantConfig({
      models: { m: { pool: 'p' } },
      pools: { p: { backends: [{ id: 'quiet', url: quiet.url, engine: 'llama-cpp', apiKey: 'k' }, { id: 'slow', url: slow.url, engine: 'llama-cpp', apiKey: 'k' }] } },
      health: { probeIntervalMs: 100 },
    });
    if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
    await store.putTenant('d', cfg.value);
    r3 = await startNodeRouter({ store });
    const q = r3.platform.states.get(quiet.url);
    await until(() => q.engineObservedAt > 0 && q.engineReport !== null);
    expect(q.engine.running).toBe(1);
    expect(q.engineReport).toBe('/metrics answered 501: no engine load is read; start llama-server with --metrics, or set the engine kind it really is');
    const s = r3.platform.states.get(slow.url);
    await until(() => s.engineObservedAt > 0);
    expect(s.engine).toMatchObject({ running: 4, waiting: 46 });
    // The slow engine never held up the other one's probes.
    expect(quiet.seen.get('/health')!.length).toBeGreaterThan(slow.seen.get('/health')!.length);
  });
});

describe('without the key', () => {
  let other: KeyedEngine;
  let r2: NodeRouter;
  afterAll(async () => {
    await r2?.close();
    await other?.close();
  });

  it('a refused metrics scrape is reported, naming the fix', async () => {
    other = await startKeyedEngine('engine-secret');
    const store = new MemoryTenantStore();
    const cfg = parseTenantConfig({ models: { m: { pool: 'p' } }, pools: { p: { backends: [{ id: 'k', url: other.url, engine: 'llama-cpp', apiKey: 'wrong' }] } }, health: { probeIntervalMs: 100 } });
    if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
    await store.putTenant('c', cfg.value);
    r2 = await startNodeRouter({ store });
    const s = r2.platform.states.get(other.url);
    await until(() => s.engineReport !== null);
    expect(s.engineReport).toBe("/metrics answered 401: the engine wants credentials; set the backend's apiKey");
    expect(s.breaker.healthy).toBe(true); // /health is public: the engine is up, only its load is unknown
  });
});
