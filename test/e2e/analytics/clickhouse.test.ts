// Against a real ClickHouse server: migrations, idempotent inserts, the experiment report and the cache report
// (same numbers as SQLite), the node buffer's spool replay into ClickHouse, and its split around rows ClickHouse
// refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EVENT_COLUMNS, type AnalyticsEvent } from '../../../src/analytics/event.ts';
import { EVENTS_TABLE, migrateClickHouse } from '../../../src/analytics/migrations.ts';
import { DEAD_LETTERS_TABLE } from '../../../src/analytics/dead-letter.ts';
import { ClickHouseSink, createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';
import { openSqlite, SqliteSink } from '../../../src/analytics/sinks/sqlite.ts';
import { NodeEventBuffer } from '../../../src/analytics/delivery/node-buffer.ts';
import { experimentReport } from '../../../src/experiments/report.ts';
import { clickhouseQueryable, sqliteQueryable } from '../../../src/analytics/queryable.ts';
import { cacheReport } from '../../../src/analytics/cache-report.ts';
import { armEvents, cacheRequests, expectFiltersBound, pairEvent, requestEvent, trickyEvents } from '../../unit/analytics/fixtures.ts';
import { dropDatabase, freePort, testDatabase, useClickHouse } from './clickhouse-server.ts';

let url: string;
let release: () => void;
const database = testDatabase('kvr_e2e');
let client: ReturnType<typeof createClickHouseClient>;

async function scalar(sql: string): Promise<number> {
  const rows = await (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  return Number(Object.values(rows[0] ?? {})[0]);
}

beforeAll(async () => {
  ({ url, release } = await useClickHouse());
  client = createClickHouseClient({ url, database: 'default' });
  await migrateClickHouse(client, database);
});

afterAll(async () => {
  await dropDatabase(url, database).catch(() => {});
  await client?.close();
  release?.();
});

const table = () => `\`${database}\`.${EVENTS_TABLE}`;

describe('ClickHouse migrations', () => {
  it('are idempotent and create exactly the event columns (+ the materialized ts)', async () => {
    await migrateClickHouse(client, database);
    const rows = await (await client.query({ query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = '${EVENTS_TABLE}'`, format: 'JSONEachRow' })).json<{ name: string }>();
    expect(rows.map((r) => r.name)).toEqual([...EVENT_COLUMNS, 'ts']);
  });

  it('the migrate command works from the CLI and can run twice', () => {
    const db2 = testDatabase('kvr_cli');
    const cli = resolve(import.meta.dirname, '../../../bin/cli.ts');
    const tsx = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');
    for (let i = 0; i < 2; i++) {
      const out = execFileSync(tsx, [cli, 'migrate', '--clickhouse', url, '--database', db2], { encoding: 'utf8', timeout: 30_000 });
      expect(out).toContain(`${db2}.${EVENTS_TABLE} ready`);
    }
    return dropDatabase(url, db2);
  });
});

describe('ClickHouse sink', () => {
  it('is idempotent by event id: the same event written twice is one row', async () => {
    const sink = new ClickHouseSink(client, database);
    const e = requestEvent({ tenant: 'idem' });
    await sink.write([e]);
    await sink.write([e, e]);
    expect(await scalar(`SELECT count() FROM ${table()} FINAL WHERE event_id = '${e.event_id}'`)).toBe(1);
    await client.command({ query: `OPTIMIZE TABLE ${table()} FINAL` });
    expect(await scalar(`SELECT count() FROM ${table()} WHERE event_id = '${e.event_id}'`)).toBe(1);
  });

  it('round-trips a pair record', async () => {
    const p = pairEvent({ tenant: 'rt' });
    await new ClickHouseSink(client, database).write([p]);
    const rows = await (await client.query({ query: `SELECT * FROM ${table()} FINAL WHERE event_id = '${p.event_id}'`, format: 'JSONEachRow' })).json<Record<string, unknown>>();
    expect(rows[0]).toMatchObject({ type: 'shadow_pair', cand_backend: 'c1', cand_ttft_ms: 70, exact_match: 0, similarity: 0.8, comparable: 1, ttft_ms: 50 });
  });
});

describe('experiment report on ClickHouse', () => {
  it('gives the same report as SQLite for the same events', async () => {
    const ttfts = Array.from({ length: 100 }, (_, i) => i + 1);
    const events = [
      ...armEvents('rep', 'exp1', { control: ttfts, treat: ttfts.slice(0, 20) }, { treat: 2 }),
      ...armEvents('rep', 'other', { control: [999] }),
      ...Array.from({ length: 10 }, (_, i) => pairEvent({ tenant: 'rep', exact_match: i < 3, similarity: i / 10, finish_agree: i < 9 })),
      pairEvent({ tenant: 'rep', comparable: false, exact_match: false, similarity: null, length_ratio: null, finish_agree: false, cand: { ...pairEvent().cand, error_class: 'timeout' } }),
      ...Array.from({ length: 10 }, (_, i) => pairEvent({ tenant: 'rep', pair_kind: 'noise', exact_match: i < 9, similarity: 1 })),
    ];
    const sink = new ClickHouseSink(client, database);
    await sink.write(events);
    await sink.write(events.slice(0, 30)); // re-sent: must not change the report
    const ch = await experimentReport(clickhouseQueryable(client, database), 'rep', 'exp1');
    const dir = mkdtempSync(join(tmpdir(), 'kvr-rep-'));
    const db = await openSqlite(join(dir, 'a.db'));
    await new SqliteSink(db).write(events);
    const lite = await experimentReport(sqliteQueryable(db), 'rep', 'exp1');
    rmSync(dir, { recursive: true, force: true });
    expect(ch.arms[0]).toMatchObject({ arm: 'control', requests: 100, ttft_p50_ms: 51, ttft_p95_ms: 96 });
    expect(ch.shadow).toMatchObject({ pairs: 11, comparable: 10, candidate_errors: 1, exact_match_rate: 0.3 });
    // Same numbers from both dialects (float means compared to 12 digits).
    const round = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)));
    expect(round(ch)).toEqual(round(lite));
  });
});

describe('cache report on ClickHouse', () => {
  it('gives the same report as SQLite, with re-sent events counted once', async () => {
    const events = cacheRequests().map((e) => ({ ...e, tenant: `cache-${e.tenant}` }));
    const sink = new ClickHouseSink(client, database);
    await sink.write(events);
    await sink.write(events.slice(0, 3)); // re-sent: must not change the report
    const dir = mkdtempSync(join(tmpdir(), 'kvr-cache-'));
    const db = await openSqlite(join(dir, 'a.db'));
    await new SqliteSink(db).write(events);
    for (const filter of [{ tenant: 'cache-acme' }, { tenant: 'cache-beta', sinceMs: Date.UTC(2026, 10, 29, 9, 3) }]) {
      expect(await cacheReport(clickhouseQueryable(client, database), filter)).toEqual(await cacheReport(sqliteQueryable(db), filter));
    }
    rmSync(dir, { recursive: true, force: true });
    const acme = await cacheReport(clickhouseQueryable(client, database), { tenant: 'cache-acme' });
    expect(acme.tenants).toEqual([{ tenant: 'cache-acme', requests: 4, prompt_tokens: 4000, cached_tokens: 2500, hit_rate: 0.625 }]);
    expect(acme.policies.map((p) => [p.policy, p.hit_rate])).toEqual([['prefix-affinity', 2500 / 3000], ['round-robin', 0]]);
  });
});

describe('report filters on ClickHouse', () => {
  it('are bound, not spliced: quotes, backslashes and NUL round-trip; an injection is matched as data', async () => {
    const all = () => scalar(`SELECT count() FROM ${table()} FINAL`);
    const before = await all();
    await new ClickHouseSink(client, database).write(trickyEvents());
    await expectFiltersBound(clickhouseQueryable(client, database), async () => (await all()) - before);
  });
});

describe('node buffer into ClickHouse', () => {
  it('events spooled while ClickHouse was unreachable are replayed after a restart, exactly once', async () => {
    const spool = mkdtempSync(join(tmpdir(), 'kvr-spool-'));
    const deadPort = await freePort(); // nothing listens there
    const deadClient = createClickHouseClient({ url: `http://127.0.0.1:${deadPort}`, requestTimeoutMs: 1000 });
    const first = new NodeEventBuffer({ sink: new ClickHouseSink(deadClient, database), spoolDir: spool, batchSize: 100, lingerMs: 5, retryBaseMs: 10 }).start();
    const events = Array.from({ length: 1500 }, (_, i) => requestEvent({ tenant: 'replay', request_id: `r${i}` }));
    first.enqueue(events);
    await first.close(200); // "crash-free shutdown" while the sink is down: everything goes to the spool
    await deadClient.close();
    const second = new NodeEventBuffer({ sink: new ClickHouseSink(client, database), spoolDir: spool, batchSize: 500 }).start();
    expect(await second.drain(30_000)).toBe(true);
    await second.close();
    rmSync(spool, { recursive: true, force: true });
    expect(await scalar(`SELECT count() FROM ${table()} FINAL WHERE tenant = 'replay'`)).toBe(1500);
    expect(await scalar(`SELECT uniqExact(request_id) FROM ${table()} FINAL WHERE tenant = 'replay'`)).toBe(1500);
  });

  it('a batch ClickHouse rejects is split: the others are stored, the poisoned events are dead letters with ClickHouse\'s reason', async () => {
    const spool = mkdtempSync(join(tmpdir(), 'kvr-spool-'));
    const good = Array.from({ length: 200 }, (_, i) => requestEvent({ tenant: 'split', request_id: `r${i}` }));
    // Values a builder bug could let through: ClickHouse refuses each (Code 72, 25 and 27 on 18.16).
    const negative = { ...requestEvent({ tenant: 'split' }), prompt_tokens: -5 };
    const surrogate = requestEvent({ tenant: 'split', model: 'm\ud800' });
    const fraction = { ...requestEvent({ tenant: 'split' }), completion_tokens: 1.5 };
    const poisoned = [negative, surrogate, fraction] as AnalyticsEvent[];
    const buf = new NodeEventBuffer({ sink: new ClickHouseSink(client, database), spoolDir: spool, batchSize: 500, lingerMs: 5 }).start();
    buf.enqueue([...good.slice(0, 50), negative, ...good.slice(50, 120), surrogate, ...good.slice(120), fraction] as AnalyticsEvent[]);
    expect(await buf.drain(30_000)).toBe(true);
    await buf.close();
    rmSync(spool, { recursive: true, force: true });
    expect(await scalar(`SELECT count() FROM ${table()} FINAL WHERE tenant = 'split'`)).toBe(200);
    const dead = await (await client.query({ query: `SELECT event_id, reason FROM \`${database}\`.${DEAD_LETTERS_TABLE} FINAL ORDER BY event_id`, format: 'JSONEachRow' })).json<{ event_id: string; reason: string }>();
    expect(dead.map((d) => d.event_id)).toEqual(poisoned.map((e) => e.event_id).sort());
    for (const d of dead) expect(d.reason).toMatch(/^clickhouse rejected the data: Code: (72|25|27)\b/);
  });
});
