// One real Node router in front of a real simulated pool (`kvroute sim` processes), with SQLite analytics, for the
// official-client tests (Node SDK, Python SDK). Two tenants: `acme` allows one browser origin, `globex` none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeAnalytics, type NodeAnalytics } from '../../../src/runtimes/node-analytics.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { simState, startSimPool, type SimPool } from '../../helpers/sim-pool.ts';

export const MODEL = 'llama-3.1-8b';
export const KEY = 'sk-clients-acme-0123456789';
export const OTHER_KEY = 'sk-clients-globex-0123456789';
export const ALLOWED_ORIGIN = 'https://app.example.com';

export interface ClientsRig {
  pool: SimPool;
  router: NodeRouter;
  analytics: NodeAnalytics;
  /** Analytics rows of the given request ids (waits for delivery, bounded). */
  events(requestIds: string[]): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startClientsRig(): Promise<ClientsRig> {
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-clients-'));
  const pool = await startSimPool(2, ['--time-scale', '20']);
  const analytics = await createNodeAnalytics({ sqlitePath: join(dir, 'a.db'), spoolDir: join(dir, 'spool'), buffer: { lingerMs: 5 } });
  const store = new MemoryTenantStore();
  const router = await startNodeRouter({ store, probes: false, analytics });
  const backends = pool.urls.map((url, i) => ({ id: `b${i}`, url }));
  const acme = parseTenantConfig({
    models: { [MODEL]: { pool: 'gpu' }, 'org/alias-model': { pool: 'gpu', model: MODEL } },
    pools: { gpu: { backends } },
    health: { probeIntervalMs: 0 },
    retry: { retryOnStatus: [503] },
    cors: { allowOrigins: [ALLOWED_ORIGIN], maxAgeSeconds: 120 },
  });
  const globex = parseTenantConfig({ models: { [MODEL]: { pool: 'gpu' } }, pools: { gpu: { backends } }, health: { probeIntervalMs: 0 } });
  if (!acme.ok || !globex.ok) throw new Error('bad config');
  await store.putTenant('acme', acme.value);
  await store.putTenant('globex', globex.value);
  const createdAt = new Date().toISOString();
  await store.putKey({ keyId: 'k1', tenantId: 'acme', hash: await sha256Hex(KEY), createdAt });
  await store.putKey({ keyId: 'k2', tenantId: 'globex', hash: await sha256Hex(OTHER_KEY), createdAt });
  return {
    pool,
    router,
    analytics,
    async events(ids) {
      const list = ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(',');
      for (let i = 0; i < 200; i++) {
        const rows = await analytics.queryable.rows(`SELECT * FROM ${analytics.queryable.table} WHERE request_id IN (${list})`);
        if (rows.length >= ids.length) return rows;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`analytics events for ${ids.join(', ')} did not arrive`);
    },
    async stop() {
      await router.close();
      await analytics.close();
      await pool.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The simulated engines' counts over all backends: requests in flight, and requests aborted so far. */
export async function simCounts(pool: SimPool): Promise<{ inFlight: number; aborted: number }> {
  let inFlight = 0;
  let aborted = 0;
  for (const url of pool.urls) {
    const s = await simState(url);
    inFlight += s.running + s.waiting;
    aborted += s.finished.abort;
  }
  return { inFlight, aborted };
}
