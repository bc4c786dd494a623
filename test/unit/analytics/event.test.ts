import { describe, it, expect, vi } from 'vitest';
import { analyticsEventSchema, EVENT_COLUMNS, newEventId, toRow, toWaeDataPoint, WAE_BLOBS, WAE_DOUBLES } from '../../../src/analytics/event.ts';
import { clickhouseMigrations, sqliteMigrations } from '../../../src/analytics/migrations.ts';
import { pairEvent, requestEvent } from './fixtures.ts';

describe('event schema', () => {
  it('fills leg defaults and rejects a bad event id or unknown error class', () => {
    const e = analyticsEventSchema.parse({ type: 'request', event_id: crypto.randomUUID(), ts: 1, tenant: 't', request_id: 'r', correlation_id: 'r', model: 'm' });
    expect(e).toMatchObject({ experiment: '', arm: '', status: 0, error_class: '', ttft_ms: null, shadowed: false });
    expect(analyticsEventSchema.safeParse({ ...e, event_id: 'nope' }).success).toBe(false);
    expect(analyticsEventSchema.safeParse({ ...e, error_class: 'weird' }).success).toBe(false);
  });

  it('event ids are UUIDs that sort by the millisecond they were made (version 7): stores keyed by them append', () => {
    const now = vi.spyOn(Date, 'now');
    const ids: string[] = [];
    for (const t of [1_700_000_000_000, 1_700_000_000_001, 1_700_000_001_000, 1_700_003_600_000, 2_000_000_000_000]) {
      now.mockReturnValue(t);
      ids.push(newEventId(), newEventId());
    }
    now.mockRestore();
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(analyticsEventSchema.safeParse({ type: 'request', event_id: id, ts: 1, tenant: 't', request_id: 'r', correlation_id: 'r', model: 'm' }).success).toBe(true);
    }
    expect(ids[0]!.slice(0, 13)).toBe('018bcfe5-6800'); // 1_700_000_000_000 ms as 48 bits of hex
    for (let i = 2; i < ids.length; i++) expect(ids[i - 2]! < ids[i]!).toBe(true); // a later millisecond sorts after
    expect(new Set(Array.from({ length: 10_000 }, newEventId)).size).toBe(10_000);
  });

  it('maps request and pair events to the same flat row, with every column present', () => {
    for (const e of [requestEvent(), pairEvent()]) {
      const row = toRow(e);
      expect(Object.keys(row)).toEqual([...EVENT_COLUMNS]);
      expect(Object.values(row).every((v) => v === null || typeof v === 'number' || typeof v === 'string')).toBe(true);
    }
    expect(toRow(requestEvent())).toMatchObject({ stream: 1, exact_match: null, cand_pool: '', pair_kind: '' });
    expect(toRow(pairEvent())).toMatchObject({ pair_kind: 'shadow', cand_pool: 'gpu-c', cand_ttft_ms: 70, exact_match: 0, similarity: 0.8, comparable: 1 });
  });

  it('both migrations declare exactly the event columns', () => {
    const ch = clickhouseMigrations('analytics')[1];
    const lite = sqliteMigrations()[0];
    for (const c of EVENT_COLUMNS) {
      expect(ch).toMatch(new RegExp(`\\n  ${c} `));
      expect(lite).toMatch(new RegExp(`\\n  ${c} `));
    }
  });

  it('WAE data point respects the limits: 1 index <= 96 bytes, <= 20 blobs/doubles, blobs <= 5120 bytes', () => {
    const p = toWaeDataPoint(requestEvent({ tenant: 'é'.repeat(128), model: '€'.repeat(256), pool: '€'.repeat(128), backend: '€'.repeat(256), upstream_model: '€'.repeat(256), experiment: 'e'.repeat(64), arm: 'a'.repeat(64) }));
    expect(p.indexes).toHaveLength(1);
    expect(new TextEncoder().encode(p.indexes[0]).byteLength).toBeLessThanOrEqual(96);
    expect(p.blobs.length).toBe(WAE_BLOBS.length);
    expect(p.blobs.length).toBeLessThanOrEqual(20);
    expect(p.doubles.length).toBe(WAE_DOUBLES.length);
    expect(p.doubles.length).toBeLessThanOrEqual(20);
    expect(p.blobs.reduce((s, b) => s + new TextEncoder().encode(b).byteLength, 0)).toBeLessThanOrEqual(5120);
    expect(p.doubles[WAE_DOUBLES.indexOf('count')]).toBe(1);
    expect(p.doubles[WAE_DOUBLES.indexOf('cand_is_error')]).toBe(-1);
  });
});
