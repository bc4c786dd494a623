// The D1 sink and the experiment report's SQLite dialect on real D1 (the ANALYTICS_DB binding in workerd).
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { analyticsEventSchema, newEventId, type AnalyticsEvent } from '../../src/analytics/event.ts';
import { experimentReport } from '../../src/experiments/report.ts';
import { d1Queryable } from '../../src/analytics/queryable.ts';
import { D1Sink, migrateD1, type D1Like } from '../../src/analytics/sinks/d1.ts';
import { deadLetterOf } from '../../src/analytics/dead-letter.ts';
import { errText, isDataRejected } from '../../src/analytics/sink.ts';
import { expectFiltersBound, trickyEvents } from '../unit/analytics/fixtures.ts';
import { keptEvent } from '../helpers/dead-letters.ts';

const db = (env as unknown as { ANALYTICS_DB: D1Like & Parameters<typeof d1Queryable>[0] }).ANALYTICS_DB;

const request = (tenant: string, arm: string, ttft: number, error = false): AnalyticsEvent =>
  analyticsEventSchema.parse({
    type: 'request', event_id: newEventId(), ts: Date.now(), tenant, request_id: `${arm}-${ttft}`, correlation_id: `${arm}-${ttft}`, model: 'm',
    experiment: 'exp1', arm, status: error ? 502 : 200, error_class: error ? 'upstream_5xx' : '', ttft_ms: ttft, latency_ms: ttft * 10, prompt_tokens: 10, completion_tokens: 20,
  });

const pair = (tenant: string, kind: 'shadow' | 'noise', exact: boolean): AnalyticsEvent =>
  analyticsEventSchema.parse({
    type: 'shadow_pair', event_id: newEventId(), ts: Date.now(), tenant, request_id: 'r', correlation_id: 'r', model: 'm', experiment: 'exp1', arm: 'control',
    pair_kind: kind, status: 200, ttft_ms: 50, latency_ms: 400, finish_reason: 'stop', cand: { status: 200, ttft_ms: 70, latency_ms: 500, finish_reason: 'stop' },
    exact_match: exact, similarity: exact ? 1 : 0.5, length_ratio: 1, finish_agree: true, comparable: true,
  });

describe('D1 analytics store', () => {
  it('migrates idempotently and ignores a re-sent event', async () => {
    await migrateD1(db);
    await migrateD1(db);
    const events = Array.from({ length: 120 }, (_, i) => request('d1-idem', 'control', i + 1));
    const sink = new D1Sink(db);
    await sink.write(events);
    await sink.write(events.slice(0, 30));
    const [row] = await d1Queryable(db).rows("SELECT COUNT(*) AS n FROM kvroute_events WHERE tenant = 'd1-idem'");
    expect(row?.n).toBe(120);
  });

  it('runs the report SQL (window-function quantiles) with the same numbers as SQLite on Node', async () => {
    await migrateD1(db);
    const ttfts = Array.from({ length: 100 }, (_, i) => i + 1);
    await new D1Sink(db).write([
      ...ttfts.map((t) => request('d1-rep', 'control', t)),
      ...ttfts.slice(0, 20).map((t, i) => request('d1-rep', 'treat', t, i < 2)),
      ...Array.from({ length: 10 }, (_, i) => pair('d1-rep', 'shadow', i < 3)),
      ...Array.from({ length: 10 }, (_, i) => pair('d1-rep', 'noise', i < 9)),
    ]);
    const r = await experimentReport(d1Queryable(db), 'd1-rep', 'exp1');
    expect(r.arms[0]).toMatchObject({ arm: 'control', requests: 100, errors: 0, ttft_p50_ms: 51, ttft_p95_ms: 96, latency_p50_ms: 510, prompt_tokens: 1000 });
    expect(r.arms[1]).toMatchObject({ arm: 'treat', requests: 20, errors: 2, error_rate: 0.1, ttft_p50_ms: 11 });
    expect(r.shadow).toMatchObject({ pairs: 10, comparable: 10, exact_match_rate: 0.3, similarity_p50: 0.5, candidate_ttft_p50_ms: 70 });
    expect(r.noise).toMatchObject({ exact_match_rate: 0.9 });
    expect(r.noise_floor!.exact_match.significant).toBe(true);
  });

  it('binds report filters: quotes, backslashes and NUL round-trip; an injection is matched as data', async () => {
    await migrateD1(db);
    const all = async () => Number((await d1Queryable(db).rows('SELECT COUNT(*) AS n FROM kvroute_events'))[0]?.n);
    const before = await all();
    await new D1Sink(db).write(trickyEvents());
    await expectFiltersBound(d1Queryable(db), async () => (await all()) - before);
  });

  it('refuses a value it cannot bind as bad data (not "unavailable"), and keeps dead letters in its own table', async () => {
    await migrateD1(db);
    const sink = new D1Sink(db);
    const poisoned = { ...request('d1-dead', 'control', 1), prompt_tokens: { n: 1 } } as unknown as AnalyticsEvent;
    const err = await sink.write([poisoned]).then(() => null, (e: unknown) => e);
    expect(isDataRejected(err), errText(err)).toBe(true);
    const letter = deadLetterOf(poisoned, errText(err));
    await sink.writeDeadLetters([letter]);
    await sink.writeDeadLetters([letter]); // idempotent by event id, like the events
    const rows = await d1Queryable(db).rows('SELECT event_id, reason, raw FROM kvroute_dead_letters WHERE event_id = ?', { id: poisoned.event_id });
    expect(rows).toHaveLength(1);
    expect(String(rows[0]?.reason)).toMatch(/^d1 rejected the data/);
    expect(keptEvent(String(rows[0]?.raw)).prompt_tokens).toEqual({ n: 1 });
  });
});
