// Telling "the store refused this data" from "the store is unavailable", and the split that isolates the events
// a store refuses: with the real SQLite store, classification of real ClickHouse error texts, and a fake sink.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyticsEvent } from '../../../../src/analytics/event.ts';
import { DataRejectedError, FanoutSink, isDataRejected, type AnalyticsSink } from '../../../../src/analytics/sink.ts';
import { writeSplitting } from '../../../../src/analytics/delivery/split.ts';
import { NodeEventBuffer } from '../../../../src/analytics/delivery/node-buffer.ts';
import { clickhouseRejectsData } from '../../../../src/analytics/sinks/clickhouse.ts';
import { d1RejectsData } from '../../../../src/analytics/sinks/d1.ts';
import { openSqlite, SqliteSink, sqliteRejectsData } from '../../../../src/analytics/sinks/sqlite.ts';
import { keptEvent } from '../../../helpers/dead-letters.ts';
import { requestEvent } from '../fixtures.ts';

/** Refuses batches holding a poisoned id; goes down (unavailable) after `downAfter` writes when set. */
class ScriptedSink implements AnalyticsSink {
  readonly name = 'scripted';
  readonly batches: string[][] = [];
  constructor(private readonly poison: Set<string>, private readonly downAfter = Infinity) {}
  async write(events: readonly AnalyticsEvent[]) {
    if (this.batches.length >= this.downAfter) throw new Error('connect ECONNREFUSED');
    this.batches.push(events.map((e) => e.event_id));
    if (events.some((e) => this.poison.has(e.event_id))) throw new DataRejectedError('scripted rejected the data');
  }
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => requestEvent({ request_id: `r${i}` }));

describe('writeSplitting', () => {
  it('stores everything but the poisoned events, in order, with about 2·log2(n) extra writes each', async () => {
    const events = ids(64);
    const sink = new ScriptedSink(new Set([events[5]!.event_id, events[40]!.event_id]));
    const r = await writeSplitting(sink, events, (e) => e);
    expect(r.stored.map((e) => e.event_id)).toEqual(events.filter((_, i) => i !== 5 && i !== 40).map((e) => e.event_id));
    expect(r.rejected.map((x) => x.item.event_id)).toEqual([events[5]!.event_id, events[40]!.event_id]);
    expect(r.rejected[0]?.reason).toBe('scripted rejected the data');
    expect(r.unavailable).toBeNull();
    expect(r.writes).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(64));
  });

  it('stops when the store becomes unavailable mid-split and hands back exactly what was not stored', async () => {
    const events = ids(16);
    const sink = new ScriptedSink(new Set([events[0]!.event_id]), 4);
    const r = await writeSplitting(sink, events, (e) => e);
    expect(r.unavailable).not.toBeNull();
    const back = new Set([...r.stored, ...r.rejected.map((x) => x.item), ...r.unavailable!.items].map((e) => e.event_id));
    expect(back).toEqual(new Set(events.map((e) => e.event_id)));
    expect(r.stored.length + r.rejected.length + r.unavailable!.items.length).toBe(16);
  });
});

describe('store error classification', () => {
  it('reads ClickHouse data errors from 18.x and newer message formats; a down server is not one', () => {
    const ch18 = new Error("Code: 72, e.displayText() = DB::Exception: Unsigned type must not contain '-' symbol: (while read the value of key prompt_tokens): (at row 2)\n, e.what() = DB::Exception\n");
    const chNew = Object.assign(new Error('Cannot parse input'), { code: '27', type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED' });
    const surrogate = new Error('Code: 25, e.displayText() = DB::Exception: Cannot parse escape sequence: missing second part of surrogate pair');
    expect([ch18, chNew, surrogate].map(clickhouseRejectsData)).toEqual([true, true, true]);
    const down = new TypeError('fetch failed');
    const noDb = new Error("Code: 81, e.displayText() = DB::Exception: Database x doesn't exist, e.what() = DB::Exception");
    const memory = new Error('Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded');
    expect([down, noDb, memory].map(clickhouseRejectsData)).toEqual([false, false, false]);
  });

  it('reads SQLite and D1 data errors; a busy or full database is not one', () => {
    expect(sqliteRejectsData(new RangeError('Too few parameter values were provided'))).toBe(true);
    expect(sqliteRejectsData(Object.assign(new Error('datatype mismatch'), { code: 'SQLITE_MISMATCH' }))).toBe(true);
    expect(sqliteRejectsData(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(false);
    expect(sqliteRejectsData(Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }))).toBe(false);
    expect(d1RejectsData(new Error("D1_TYPE_ERROR: Type 'object' not supported for value '[object Object]'"))).toBe(true);
    expect(d1RejectsData(new Error('D1_ERROR: Network connection lost.'))).toBe(false);
  });

  it('a fan-out rejects only when every failing store rejected the data', async () => {
    const rejecting: AnalyticsSink = { name: 'a', write: async () => { throw new DataRejectedError('a rejected the data'); } };
    const down: AnalyticsSink = { name: 'b', write: async () => { throw new Error('down'); } };
    const fine: AnalyticsSink = { name: 'c', write: async () => {} };
    const e = [requestEvent()];
    expect(await new FanoutSink([rejecting, fine]).write(e).then(() => null, isDataRejected)).toBe(true);
    expect(await new FanoutSink([rejecting, down]).write(e).then(() => null, isDataRejected)).toBe(false);
  });
});

describe('the SQLite store refusing an event', () => {
  it('rejects an object value as data, and the buffer dead-letters it into the SQLite dead-letter table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvroute-split-'));
    try {
      const db = await openSqlite(join(dir, 'a.db'));
      const sink = new SqliteSink(db);
      const poisoned = { ...requestEvent(), prompt_tokens: { tokens: 5 } } as unknown as AnalyticsEvent;
      expect(await sink.write([requestEvent(), poisoned]).then(() => null, (err: unknown) => isDataRejected(err))).toBe(true);
      const good = ids(30);
      const buf = new NodeEventBuffer({ sink, spoolDir: join(dir, 'spool'), lingerMs: 1 }).start();
      buf.enqueue([...good.slice(0, 10), poisoned, ...good.slice(10)]);
      expect(await buf.drain(5_000)).toBe(true);
      await buf.close();
      const stored = db.prepare('SELECT event_id FROM kvroute_events').all() as { event_id: string }[];
      expect(new Set(stored.map((r) => r.event_id))).toEqual(new Set(good.map((e) => e.event_id)));
      const dead = db.prepare('SELECT event_id, reason, raw FROM kvroute_dead_letters').all() as { event_id: string; reason: string; raw: string }[];
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ event_id: poisoned.event_id });
      expect(dead[0]?.reason).toMatch(/^sqlite rejected the data/);
      expect(keptEvent(dead[0]!.raw).prompt_tokens).toEqual({ tokens: 5 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
