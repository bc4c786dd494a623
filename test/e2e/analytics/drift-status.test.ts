// Drift status changes into a real ClickHouse: the additive migration on a table created before drift columns
// existed, the recorder's onStatus through the Node buffer (a none -> major transition with its PSI, crit and
// baseline), and the wiring in startNodeRouter (real simulator, real requests, rows land on shutdown).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { driftStatusEventOf } from '../../../src/analytics/drift-event.ts';
import { EVENT_COLUMNS, toRow } from '../../../src/analytics/event.ts';
import { ADDED_COLUMNS, clickhouseMigrations, EVENTS_TABLE, migrateClickHouse } from '../../../src/analytics/migrations.ts';
import { createNodeAnalytics, type NodeAnalytics } from '../../../src/runtimes/node-analytics.ts';
import { createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { driftConfigSchema } from '../../../src/config/drift.ts';
import { parseTenantConfig } from '../../../src/config/schema.ts';
import { createDriftRecorder } from '../../../src/drift/recorder.ts';
import { MemoryDriftStore } from '../../../src/drift/store.ts';
import { startNodeRouter } from '../../../routes/node.ts';
import { sha256Hex } from '../../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../../src/tenants/store.ts';
import { startSimPool, type SimPool } from '../../helpers/sim-pool.ts';
import { requestEvent } from '../../unit/analytics/fixtures.ts';
import { BASE_SHAPE, trafficSource } from '../../unit/drift/traffic.ts';
import { dropDatabase, testDatabase, useClickHouse } from './clickhouse-server.ts';

let ch: { url: string; release(): void };
let client: ReturnType<typeof createClickHouseClient>;
let tmp: string;
const databases: string[] = [];

beforeAll(async () => {
  ch = await useClickHouse();
  client = createClickHouseClient({ url: ch.url });
  tmp = mkdtempSync(join(tmpdir(), 'kvr-drift-e2e-'));
}, 60_000);

afterAll(async () => {
  for (const db of databases) await dropDatabase(ch.url, db).catch(() => {});
  await client?.close();
  ch?.release();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function newDatabase(prefix: string): string {
  const db = testDatabase(prefix);
  databases.push(db);
  return db;
}

async function rows<T>(sql: string): Promise<T[]> {
  return (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
}

function analyticsFor(database: string, name: string): Promise<NodeAnalytics> {
  return createNodeAnalytics({
    sqlitePath: join(tmp, `${name}.db`),
    spoolDir: join(tmp, `${name}-spool`),
    clickhouse: { url: ch.url, database },
    buffer: { lingerMs: 50 },
  });
}

type DriftRow = { model: string; arm: string; drift_feature: string; drift_status: string; drift_previous: string; drift_psi: number | null; drift_crit: number | null; drift_n: number; drift_m: number; drift_baseline: string; drift_window: string };

describe('ClickHouse: drift columns', () => {
  it('are added to a table created without them (twice is a no-op), in table order, and old rows read defaults', async () => {
    const database = newDatabase('kvr_drift_mig');
    const [createDb, createTable] = clickhouseMigrations(database);
    await client.command({ query: createDb! });
    // The table as v1 created it: the same CREATE without the added columns.
    await client.command({ query: createTable!.split('\n').filter((l) => !ADDED_COLUMNS.some((c) => l.startsWith(`  ${c} `))).join('\n') });
    const v1 = toRow(requestEvent());
    for (const c of ADDED_COLUMNS) delete (v1 as Record<string, unknown>)[c];
    await client.insert({ table: `\`${database}\`.${EVENTS_TABLE}`, values: [v1], format: 'JSONEachRow' });

    await migrateClickHouse(client, database);
    await migrateClickHouse(client, database);
    const cols = await rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = '${database}' AND table = '${EVENTS_TABLE}'`);
    expect(cols.map((r) => r.name)).toEqual([...EVENT_COLUMNS, 'ts']);
    const old = await rows<Record<string, unknown>>(`SELECT type, drift_status, drift_psi, drift_n FROM \`${database}\`.${EVENTS_TABLE} FINAL`);
    expect(old).toEqual([{ type: 'request', drift_status: '', drift_psi: null, drift_n: 0 }]);
  });
});

describe('drift status -> Node buffer -> ClickHouse', () => {
  it('a prompt-length shift lands as a none -> major row with its PSI, crit and frozen baseline', async () => {
    const database = newDatabase('kvr_drift_rec');
    const analytics = await analyticsFor(database, 'rec');
    const T0 = Date.UTC(2026, 0, 5);
    const MIN = 60_000;
    let clock = T0;
    const now = () => clock;
    const store = new MemoryDriftStore(now);
    const config = driftConfigSchema.parse({ flushInterval: '1m' });
    const recorder = createDriftRecorder({ store, now, onStatus: (r) => analytics.emit(r.map(driftStatusEventOf)), onError: (e) => { throw e; } });
    const traffic = async (next: ReturnType<typeof trafficSource>, count: number, span: number) => {
      const start = clock;
      for (let i = 0; i < count; i++) {
        clock = start + Math.floor((i * span) / count);
        const r = next();
        await recorder.observe({ tenantId: 'acme', config, samplingId: `r${clock}-${i}`, model: 'llama-3-8b', arm: 'control', body: r.body, response: r.response });
      }
      clock = start + span;
      await recorder.flush();
    };
    const normal = trafficSource(21);
    await traffic(normal, 3600, 60 * MIN);
    await store.putBaseline('acme', { from: T0, to: T0 + 60 * MIN });
    await traffic(normal, 300, 5 * MIN);
    await traffic(trafficSource(22, { ...BASE_SHAPE, lengthScale: 2 }), 300, 5 * MIN);
    await analytics.close();

    const history = await rows<DriftRow & { ts_ms: number }>(
      `SELECT ts_ms, model, arm, drift_window, drift_feature, drift_status, drift_previous, drift_psi, drift_crit, drift_n, drift_m, drift_baseline
       FROM \`${database}\`.${EVENTS_TABLE} FINAL
       WHERE tenant = 'acme' AND type = 'drift_status' AND drift_feature = 'prompt_chars' ORDER BY ts_ms`,
    );
    // Partial windows are evaluated at every flush, so a new window passes through insufficient_data first.
    expect(history.map((r) => r.drift_status)).toContain('none');
    const last = history[history.length - 1]!;
    expect(last).toMatchObject({ model: 'llama-3-8b', arm: 'control', drift_window: '5m', drift_status: 'major', drift_m: 3600, drift_baseline: '1' });
    expect(last.drift_n).toBeGreaterThanOrEqual(config.minCount);
    expect(last.drift_psi!).toBeGreaterThan(Math.max(0.25, last.drift_crit!));
    // Each row's previous is the status of the row before it (a new baseline restarts the history at ''): the
    // table holds the complete sequence of changes.
    for (let i = 1; i < history.length; i++) {
      if (history[i]!.drift_previous !== '') expect(history[i]!.drift_previous).toBe(history[i - 1]!.drift_status);
    }
    expect(history[0]!.drift_previous).toBe('');
  }, 120_000);
});

describe('startNodeRouter wires drift status into its analytics', () => {
  let pool: SimPool | undefined;
  afterAll(async () => {
    await pool?.stop();
  });

  it('real requests through the router: the first status of every feature lands in ClickHouse', async () => {
    const database = newDatabase('kvr_drift_router');
    const analytics = await analyticsFor(database, 'router');
    pool = await startSimPool(1, ['--time-scale', '20']);
    const tenants = new MemoryTenantStore();
    const parsed = parseTenantConfig({ models: { 'llama-3.1-8b': { pool: 'p' } }, pools: { p: { backends: [{ id: 'b0', url: pool.urls[0]! }] } } });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    await tenants.putTenant('acme', parsed.value);
    await tenants.putKey({ keyId: 'k1', tenantId: 'acme', hash: await sha256Hex('sk-drift-e2e-0123456789'), createdAt: new Date().toISOString() });
    const router = await startNodeRouter({ store: tenants, analytics, probes: false });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${router.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer sk-drift-e2e-0123456789', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 8 }),
        });
        const text = await res.text();
        expect(res.status, text).toBe(200);
      }
    } finally {
      await router.close(); // flushes the drift recorder into analytics.emit
      await analytics.close();
    }
    const got = await rows<DriftRow>(`SELECT model, arm, drift_feature, drift_status, drift_previous, drift_n FROM \`${database}\`.${EVENTS_TABLE} FINAL WHERE tenant = 'acme' AND type = 'drift_status'`);
    const features = got.map((r) => r.drift_feature);
    expect(features).toContain('prompt_chars');
    expect(new Set(features).size).toBe(features.length);
    // Three requests are far below minCount, and it is the first status seen.
    for (const r of got) expect(r).toMatchObject({ model: 'llama-3.1-8b', drift_status: 'insufficient_data', drift_previous: '' });
    const requests = await rows<{ n: string }>(`SELECT count() AS n FROM \`${database}\`.${EVENTS_TABLE} FINAL WHERE tenant = 'acme' AND type = 'request'`);
    expect(Number(requests[0]!.n)).toBe(3);
  }, 120_000);
});
