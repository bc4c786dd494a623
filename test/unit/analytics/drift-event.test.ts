// drift_status events: the mapper from the drift ledger's status rows, the flat row, the WAE point, and the
// SQLite/D1 migration that adds the drift columns to a table created before they existed.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriftStatusRow } from '../../../src/drift/alerts.ts';
import { driftStatusEventOf } from '../../../src/analytics/drift-event.ts';
import { analyticsEventSchema, EVENT_COLUMNS, toRow, toWaeDataPoint, WAE_BLOBS, WAE_DOUBLES } from '../../../src/analytics/event.ts';
import { ADDED_COLUMNS, EVENTS_TABLE, sqliteMigrations } from '../../../src/analytics/migrations.ts';
import { migrateSqlite, openSqlite, SqliteSink } from '../../../src/analytics/sinks/sqlite.ts';
import { requestEvent } from './fixtures.ts';

const ROW: DriftStatusRow = {
  tenantId: 'acme', model: 'llama-3-8b', arm: 'control', feature: 'prompt_chars', window: '5m',
  windowStart: Date.UTC(2026, 0, 5, 1, 0), status: 'major', previous: 'none', psi: 0.91, js: 0.2, crit: 0.07,
  n: 300, m: 3600, baselineVersion: 1, at: Date.UTC(2026, 0, 5, 1, 5, 0, 12),
};

describe('driftStatusEventOf', () => {
  it('maps a status change to a valid drift_status event (the schema accepts it unchanged)', () => {
    const e = driftStatusEventOf(ROW);
    expect(analyticsEventSchema.parse(e)).toEqual(e);
    expect(e).toMatchObject({ type: 'drift_status', tenant: 'acme', model: 'llama-3-8b', arm: 'control', ts: ROW.at, request_id: '' });
    expect(e.drift).toEqual({ feature: 'prompt_chars', window: '5m', window_start: ROW.windowStart, status: 'major', previous: 'none', psi: 0.91, crit: 0.07, n: 300, m: 3600, baseline: '1' });
    expect(driftStatusEventOf(ROW).event_id).not.toBe(e.event_id);
  });

  it('first status, trailing baseline, and non-finite numbers become "", "trailing" and null', () => {
    const e = driftStatusEventOf({ ...ROW, status: 'insufficient_data', previous: null, psi: Number.NaN, crit: null, baselineVersion: 'trailing', n: 0 });
    expect(analyticsEventSchema.parse(e)).toEqual(e);
    expect(e.drift).toMatchObject({ previous: '', psi: null, crit: null, baseline: 'trailing', n: 0 });
  });

  it('rejects an unknown drift status', () => {
    const e = driftStatusEventOf(ROW);
    expect(analyticsEventSchema.safeParse({ ...e, drift: { ...e.drift, status: 'severe' } }).success).toBe(false);
  });
});

describe('drift_status rows', () => {
  it('fill the drift_* columns and leave request/pair columns empty; other types leave drift_* empty', () => {
    const row = toRow(driftStatusEventOf(ROW));
    expect(Object.keys(row)).toEqual([...EVENT_COLUMNS]);
    expect(row).toMatchObject({
      type: 'drift_status', ts_ms: ROW.at, tenant: 'acme', model: 'llama-3-8b', arm: 'control', experiment: '',
      drift_feature: 'prompt_chars', drift_window: '5m', drift_window_start_ms: ROW.windowStart, drift_status: 'major',
      drift_previous: 'none', drift_psi: 0.91, drift_crit: 0.07, drift_n: 300, drift_m: 3600, drift_baseline: '1',
      status: 0, pool: '', ttft_ms: null, pair_kind: '', exact_match: null, schema_version: 2,
    });
    expect(toRow(requestEvent())).toMatchObject({ drift_feature: '', drift_status: '', drift_psi: null, drift_n: 0 });
  });

  it('WAE point: type, feature and status as blobs, psi as a double, no error', () => {
    const p = toWaeDataPoint(driftStatusEventOf(ROW));
    expect(p.blobs[WAE_BLOBS.indexOf('type')]).toBe('drift_status');
    expect(p.blobs[WAE_BLOBS.indexOf('drift_feature')]).toBe('prompt_chars');
    expect(p.blobs[WAE_BLOBS.indexOf('drift_status')]).toBe('major');
    expect(p.doubles[WAE_DOUBLES.indexOf('drift_psi')]).toBe(0.91);
    expect(p.doubles[WAE_DOUBLES.indexOf('is_error')]).toBe(0);
    expect(p.doubles[WAE_DOUBLES.indexOf('latency_ms')]).toBe(-1);
    expect(p.blobs.length).toBeLessThanOrEqual(20);
    expect(p.doubles.length).toBeLessThanOrEqual(20);
  });
});

describe('SQLite: drift rows and the additive migration', () => {
  const columns = (db: { prepare(s: string): { all(): unknown[] } }) =>
    (db.prepare(`PRAGMA table_info(${EVENTS_TABLE})`).all() as Array<{ name: string }>).map((c) => c.name);

  it('upgrades a v1 table in place (twice is a no-op), keeps its rows, and stores drift rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvroute-drift-sqlite-'));
    try {
      const db = await openSqlite(join(dir, 'fresh.db'));
      expect(columns(db)).toEqual([...EVENT_COLUMNS]);
      db.exec(`DROP TABLE ${EVENTS_TABLE}`);
      // A table as v1 created it: the CREATE without the added columns.
      const v1Create = sqliteMigrations()[0]!.split('\n').filter((l) => !ADDED_COLUMNS.some((c) => l.startsWith(`  ${c} `))).join('\n').replace(/,\n\)$/, '\n)');
      db.exec(v1Create);
      const v1Cols = EVENT_COLUMNS.filter((c) => !ADDED_COLUMNS.includes(c));
      const old = toRow(requestEvent());
      db.prepare(`INSERT INTO ${EVENTS_TABLE} (${v1Cols.join(', ')}) VALUES (${v1Cols.map(() => '?').join(', ')})`).run(...v1Cols.map((c) => old[c]));

      migrateSqlite(db);
      migrateSqlite(db);
      expect(columns(db)).toEqual([...EVENT_COLUMNS]);
      const sink = new SqliteSink(db);
      const e = driftStatusEventOf(ROW);
      await sink.write([e, e]);
      const rows = db.prepare(`SELECT type, drift_feature, drift_status, drift_previous, drift_psi, drift_crit, drift_n, drift_m, drift_baseline FROM ${EVENTS_TABLE} ORDER BY type`).all();
      expect(rows).toEqual([
        { type: 'drift_status', drift_feature: 'prompt_chars', drift_status: 'major', drift_previous: 'none', drift_psi: 0.91, drift_crit: 0.07, drift_n: 300, drift_m: 3600, drift_baseline: '1' },
        { type: 'request', drift_feature: '', drift_status: '', drift_previous: '', drift_psi: null, drift_crit: null, drift_n: 0, drift_m: 0, drift_baseline: '' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a migration error other than "column already there" still fails', () => {
    const db = { exec: (sql: string) => { if (sql.startsWith('ALTER')) throw new Error('disk I/O error'); } };
    expect(() => migrateSqlite(db)).toThrow(/disk I\/O error/);
  });
});
