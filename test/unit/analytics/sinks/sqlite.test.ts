import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, SqliteSink, type SqliteDatabase } from '../../../../src/analytics/sinks/sqlite.ts';
import { D1Sink, type D1Like } from '../../../../src/analytics/sinks/d1.ts';
import { experimentReport } from '../../../../src/experiments/report.ts';
import { sqliteQueryable } from '../../../../src/analytics/queryable.ts';
import { armEvents, expectFiltersBound, pairEvent, requestEvent, trickyEvents } from '../fixtures.ts';
import { driftStatusEventOf } from '../../../../src/analytics/drift-event.ts';
import { COLUMNS_BY_TYPE, EVENT_COLUMNS, toRow, type AnalyticsEvent } from '../../../../src/analytics/event.ts';
import { isDataRejected } from '../../../../src/analytics/sink.ts';

async function freshDb() {
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-sqlite-'));
  const db = await openSqlite(join(dir, 'analytics.db'));
  return { db, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const count = (db: SqliteDatabase) => (db.prepare('SELECT COUNT(*) AS n FROM kvroute_events').all()[0] as { n: number }).n;

describe('SQLite sink', () => {
  it('is idempotent by event id: the same event twice is one row', async () => {
    const { db, cleanup } = await freshDb();
    const sink = new SqliteSink(db);
    const e = requestEvent();
    await sink.write([e]);
    await sink.write([e, e]);
    expect(count(db)).toBe(1);
    new SqliteSink(db); // migrating again is a no-op
    expect(count(db)).toBe(1);
    cleanup();
  });

  it('stores pair records with both legs', async () => {
    const { db, cleanup } = await freshDb();
    const p = pairEvent();
    await new SqliteSink(db).write([p]);
    const row = db.prepare('SELECT * FROM kvroute_events WHERE event_id = ?').all(p.event_id)[0] as Record<string, unknown>;
    expect(row).toMatchObject({ type: 'shadow_pair', cand_backend: 'c1', cand_ttft_ms: 70, exact_match: 0, similarity: 0.8, comparable: 1 });
    cleanup();
  });

  it('the D1 sink runs the same SQL (through a D1-shaped adapter over SQLite)', async () => {
    const { db, cleanup } = await freshDb();
    const d1: D1Like = {
      prepare: (sql) => ({ bind: (...values: unknown[]) => ({ sql, values }) }),
      batch: async (stmts) => { for (const s of stmts as { sql: string; values: unknown[] }[]) db.prepare(s.sql).run(...s.values); return []; },
      exec: async (sql) => db.exec(sql),
    };
    const events = Array.from({ length: 120 }, () => requestEvent());
    await new D1Sink(d1).write(events);
    await new D1Sink(d1).write(events.slice(0, 10));
    expect(count(db)).toBe(120);
    cleanup();
  });
});

describe('experiment report on SQLite', () => {
  it('per arm: requests, error rate, exact TTFT quantiles, tokens; shadow stats and noise floor', async () => {
    const { db, cleanup } = await freshDb();
    const sink = new SqliteSink(db);
    const ttfts = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    await sink.write(armEvents('t1', 'exp1', { control: ttfts, treat: ttfts.slice(0, 20) }, { treat: 2 }));
    await sink.write(armEvents('t1', 'other', { control: [999] })); // another experiment: excluded
    await sink.write(armEvents('t2', 'exp1', { control: [999] })); // another tenant: excluded
    const pairs = [
      ...Array.from({ length: 10 }, (_, i) => pairEvent({ exact_match: i < 3, similarity: i / 10, finish_agree: i < 9 })),
      pairEvent({ comparable: false, exact_match: false, similarity: null, length_ratio: null, finish_agree: false, cand: { ...pairEvent().cand, error_class: 'timeout' } }),
      pairEvent({ comparable: false, exact_match: false, similarity: null, length_ratio: null, finish_agree: false, cand: { ...pairEvent().cand, error_class: 'skipped_budget' } }),
      ...Array.from({ length: 10 }, (_, i) => pairEvent({ pair_kind: 'noise', exact_match: i < 9, similarity: 1, finish_agree: true })),
    ];
    await sink.write(pairs);
    const r = await experimentReport(sqliteQueryable(db), 't1', 'exp1');
    expect(r.arms.map((a) => a.arm)).toEqual(['control', 'treat']);
    expect(r.arms[0]).toMatchObject({ requests: 100, errors: 0, error_rate: 0, ttft_p50_ms: 51, ttft_p95_ms: 96, latency_p50_ms: 510, prompt_tokens: 1000, completion_tokens: 2000, cached_tokens: 400 });
    expect(r.arms[1]).toMatchObject({ requests: 20, errors: 2, error_rate: 0.1, ttft_p50_ms: 11, ttft_p95_ms: 20 });
    expect(r.shadow).toMatchObject({ pairs: 12, comparable: 10, candidate_errors: 1, skipped: 1, exact_match_rate: 0.3, finish_agree_rate: 0.9, similarity_p50: 0.5, primary_ttft_p50_ms: 50, candidate_ttft_p50_ms: 70 });
    expect(r.shadow!.similarity_mean).toBeCloseTo(0.45);
    expect(r.noise).toMatchObject({ pairs: 10, exact_match_rate: 0.9 });
    expect(r.noise_floor!.exact_match).toMatchObject({ significant: true });
    expect(r.noise_floor!.exact_match.rawRate).toBeCloseTo(0.7);
    expect(r.noise_floor!.finish_reason.significant).toBe(true); // 10% vs 0% noise
    cleanup();
  });

  it('report filters are bound parameters: quotes, backslashes and NUL round-trip; an injection is matched as data', async () => {
    const { db, cleanup } = await freshDb();
    await new SqliteSink(db).write(trickyEvents());
    await expectFiltersBound(sqliteQueryable(db), async () => count(db));
    cleanup();
  });

  it('an experiment without events gives empty arms and no shadow stats; quotes are escaped', async () => {
    const { db, cleanup } = await freshDb();
    const r = await experimentReport(sqliteQueryable(db), "t'1", "x'); DROP TABLE kvroute_events; --");
    expect(r).toMatchObject({ arms: [], shadow: null, noise: null, noise_floor: null });
    expect(count(db)).toBe(0);
    cleanup();
  });
});

describe('SQLite sink: one statement per event type', () => {
  it('every type reads back as toRow wrote it, including the columns its statement leaves to their defaults', async () => {
    const { db, cleanup } = await freshDb();
    const drift = driftStatusEventOf({
      tenantId: 't1', model: 'm', arm: 'control', feature: 'prompt_chars', window: '5m', windowStart: 1_700_000_000_000,
      status: 'major', previous: 'none', psi: 0.4, js: 0.1, crit: 0.07, n: 300, m: 3600, baselineVersion: 2, at: 1_700_000_300_000,
    });
    const events = [requestEvent({ shadowed: true, router_overhead_ms: 0.25 }), pairEvent(), pairEvent({ pair_kind: 'noise' }), drift, ...trickyEvents()];
    await new SqliteSink(db).write(events);
    for (const e of events) {
      const row = db.prepare('SELECT * FROM kvroute_events WHERE event_id = ?').all(e.event_id)[0];
      expect(row).toEqual(toRow(e));
    }
    cleanup();
  });

  it('the columns a type leaves out are the ones toRow writes as defaults for it', () => {
    const defaults = new Set(['', 0, null]);
    for (const e of [requestEvent(), pairEvent(), driftStatusEventOf({ tenantId: 't', model: 'm', arm: '', feature: 'script', window: '1h', windowStart: 0, status: 'none', previous: null, psi: 0, js: 0, crit: null, n: 1, m: 1, baselineVersion: 'trailing', at: 1 })]) {
      const row = toRow(e);
      const left = EVENT_COLUMNS.filter((c) => !COLUMNS_BY_TYPE[e.type].includes(c));
      expect(left.length).toBeGreaterThan(0);
      for (const c of left) expect(defaults.has(row[c]), `${e.type}.${c} = ${String(row[c])}`).toBe(true);
    }
  });

  it('an event of an unknown type is refused as bad data, not as a store failure', async () => {
    const { db, cleanup } = await freshDb();
    const bad = { ...requestEvent(), type: 'bogus' } as unknown as AnalyticsEvent;
    await expect(new SqliteSink(db).write([bad])).rejects.toSatisfy((err: unknown) => isDataRejected(err));
    cleanup();
  });
});
