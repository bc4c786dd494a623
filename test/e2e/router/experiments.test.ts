// A/B arms and shadow traffic through the real router on Node: real simulator processes, the openai SDK as the
// client, and a real ClickHouse as the analytics store. Every shadowed request gives exactly one paired record;
// a shadow backend that is down or stalls leaves the primary untouched and the record says what happened.
import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeAnalytics, type NodeAnalytics } from '../../../src/runtimes/node-analytics.ts';
import { EVENTS_TABLE } from '../../../src/analytics/migrations.ts';
import { createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { startNodeRouter, type NodeRouter } from '../../../routes/node.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { startSimPool, type SimPool } from '../../helpers/sim-pool.ts';
import { dropDatabase, testDatabase, useClickHouse } from '../analytics/clickhouse-server.ts';

const KEY = 'sk-e2e-experiments-0123456789';
const MODEL = 'llama-3.1-8b';
let pool: SimPool;
let router: NodeRouter;
let analytics: NodeAnalytics;
let store: MemoryTenantStore;
let ch: { url: string; release(): void };
let database: string;
let dir: string;

async function configure(shadow: Record<string, unknown> | undefined) {
  const cfg = parseTenantConfig({
    models: { [MODEL]: { pool: 'primary' } },
    pools: {
      primary: { backends: [{ id: 'p0', url: pool.urls[0]! }, { id: 'p1', url: pool.urls[1]! }] },
      candidate: { backends: [{ id: 'c0', url: pool.urls[2]! }] },
    },
    timeouts: { connectMs: 500, firstByteMs: 5_000, idleMs: 5_000 },
    health: { probeIntervalMs: 0 },
    experiments: [
      {
        name: 'exp1',
        model: MODEL,
        arms: [
          { name: 'control', weight: 50, pool: 'primary' },
          { name: 'treatment', weight: 50, pool: 'primary' },
        ],
        ...(shadow ? { shadow: { pool: 'candidate', sampleRate: 1, maxConcurrent: 64, timeoutMs: 1_500, ...shadow } } : {}),
      },
    ],
  });
  if (!cfg.ok) throw new Error(cfg.problems.join('\n'));
  await store.putTenant('acme', cfg.value);
  router.platform.directory.invalidate();
}

const client = () => new OpenAI({ baseURL: `${router.url}/v1`, apiKey: KEY, maxRetries: 0 });

async function query<T>(sql: string): Promise<T[]> {
  const c = createClickHouseClient({ url: ch.url, database });
  try {
    return await (await c.query({ query: sql, format: 'JSONEachRow' })).json<T>();
  } finally {
    await c.close();
  }
}

/** Waits (bounded) until the buffer has delivered and the rows for these request ids are in ClickHouse. */
async function rowsFor(ids: string[], type: 'request' | 'shadow_pair', want: number) {
  const list = ids.map((i) => `'${i}'`).join(',');
  let rows: { request_id: string; cand_error_class: string; cand_backend: string; status: number; comparable: number; arm: string }[] = [];
  for (let i = 0; i < 100; i++) {
    await analytics.buffer.drain(2_000);
    rows = await query(`SELECT request_id, cand_error_class, cand_backend, status, comparable, arm FROM ${EVENTS_TABLE} FINAL WHERE type = '${type}' AND request_id IN (${list})`);
    if (rows.length >= want) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return rows;
}

beforeAll(async () => {
  ch = await useClickHouse();
  database = testDatabase('kvroute_router_exp');
  dir = mkdtempSync(join(tmpdir(), 'kvroute-exp-'));
  analytics = await createNodeAnalytics({ sqlitePath: join(dir, 'a.db'), spoolDir: join(dir, 'spool'), clickhouse: { url: ch.url, database } });
  pool = await startSimPool(3, ['--time-scale', '20']);
  store = new MemoryTenantStore();
  router = await startNodeRouter({ store, probes: false, analytics, cacheTtlMs: 60_000 });
  await store.putKey({ keyId: 'k1', tenantId: 'acme', hash: await sha256Hex(KEY), createdAt: new Date().toISOString() });
}, 90_000);

afterAll(async () => {
  await router?.close();
  await analytics?.close();
  await pool?.stop();
  await dropDatabase(ch.url, database).catch(() => {});
  ch?.release();
  rmSync(dir, { recursive: true, force: true });
});

async function sendMany(n: number, tag: string): Promise<{ ids: string[]; arms: Map<string, string> }> {
  const ids: string[] = [];
  const arms = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const id = `${tag}-${i}`;
    const stream = i % 2 === 0;
    const req = { model: MODEL, messages: [{ role: 'user' as const, content: `question ${tag} ${i}` }], max_tokens: 12, user: `user-${i % 7}` };
    let response: Response;
    if (stream) {
      const r = await client().chat.completions.create({ ...req, stream: true }, { headers: { 'x-request-id': id } }).withResponse();
      response = r.response;
      let text = '';
      for await (const chunk of r.data) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text.length).toBeGreaterThan(0);
    } else {
      const r = await client().chat.completions.create(req, { headers: { 'x-request-id': id } }).withResponse();
      response = r.response;
      expect(r.data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    }
    expect(response.status).toBe(200);
    arms.set(`user-${i % 7}`, response.headers.get('x-kvroute-arm')!);
    ids.push(id);
  }
  return { ids, arms };
}

describe('experiments and shadow through the router', () => {
  it('assigns arms sticky per user and writes exactly one pair per shadowed request', async () => {
    await configure({});
    const { ids, arms } = await sendMany(12, 'ok');
    // The same user always got the same arm (the map kept the last; re-ask and compare).
    for (const [user, arm] of arms) {
      const { response } = await client()
        .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'again' }], max_tokens: 4, user })
        .withResponse();
      expect(response.headers.get('x-kvroute-arm')).toBe(arm);
    }
    const pairs = await rowsFor(ids, 'shadow_pair', ids.length);
    expect(pairs.length).toBe(ids.length);
    expect(new Set(pairs.map((p) => p.request_id)).size).toBe(ids.length);
    for (const p of pairs) {
      expect(p.cand_backend).toBe('c0');
      expect(p.cand_error_class).toBe('');
      expect(Number(p.comparable)).toBe(1);
    }
    const requests = await rowsFor(ids, 'request', ids.length);
    expect(requests.length).toBe(ids.length);
  });

  it('a shadow backend that is down: the primary is untouched and the record says connect', async () => {
    await configure({});
    // Refuses for 60 s simulated (3 s of wall time at time scale 20), then comes back by itself.
    await pool.setFaults(2, { refuseConnections: { ms: 60_000 } });
    const { ids } = await sendMany(4, 'down');
    const pairs = await rowsFor(ids, 'shadow_pair', ids.length);
    expect(pairs.length).toBe(ids.length);
    for (const p of pairs) expect(p.cand_error_class).toBe('connect');
    const requests = await rowsFor(ids, 'request', ids.length);
    for (const r of requests) expect(Number(r.status)).toBe(200);
    await pool.setFaults(2, {});
  });

  it('a stalling shadow backend: the primary is untouched and the record says timeout', async () => {
    await configure({ timeoutMs: 500 });
    await pool.setFaults(2, { stallBeforeFirstToken: { rate: 1, ms: 600_000 } });
    const { ids } = await sendMany(4, 'stall');
    const pairs = await rowsFor(ids, 'shadow_pair', ids.length);
    expect(pairs.length).toBe(ids.length);
    for (const p of pairs) expect(p.cand_error_class).toBe('timeout');
    await pool.setFaults(2, {});
  });
});
