// The Workers delivery path end to end in workerd (Miniflare): producer -> Cloudflare Queue -> consumer ->
// D1, with retries while the store is down and a dead-letter queue for messages that never succeed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { resolve } from 'node:path';
import { analyticsEventSchema, newEventId, type AnalyticsEvent } from '../../../src/analytics/event.ts';

let mf: Miniflare;

beforeAll(async () => {
  const out = await build({
    entryPoints: [resolve(import.meta.dirname, 'fixtures/queue-worker.ts')],
    bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', write: false, mainFields: ['browser', 'module', 'main'], conditions: ['workerd', 'worker', 'browser'],
  });
  mf = new Miniflare({
    modules: true,
    script: out.outputFiles[0]!.text,
    compatibilityDate: '2026-04-01',
    d1Databases: ['ANALYTICS_DB'],
    queueProducers: { EVENTS: 'kvroute-events' },
    queueConsumers: {
      'kvroute-events': { maxBatchSize: 50, maxBatchTimeout: 1, maxRetries: 2, deadLetterQueue: 'kvroute-events-dlq' },
      'kvroute-events-dlq': { maxBatchSize: 50, maxBatchTimeout: 1 },
    },
  });
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
});

const event = (tenant: string, i: number): AnalyticsEvent =>
  analyticsEventSchema.parse({ type: 'request', event_id: newEventId(), ts: Date.now(), tenant, request_id: `r${i}`, correlation_id: `r${i}`, model: 'm', experiment: 'e', arm: 'a', status: 200, latency_ms: 5 });

async function emit(body: unknown) {
  const res = await mf.dispatchFetch('http://kvroute/emit', { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function waitFor(sql: string, want: number, timeoutMs = 30_000): Promise<number> {
  const db = await mf.getD1Database('ANALYTICS_DB');
  const deadline = Date.now() + timeoutMs;
  let n = -1;
  while (Date.now() < deadline) {
    try {
      n = Number((await db.prepare(sql).first<{ n: number }>())?.n ?? 0);
    } catch {
      n = 0; // table not created yet
    }
    if (n >= want) return n;
    await new Promise((r) => setTimeout(r, 200));
  }
  return n;
}

describe('Queue -> D1 in workerd', () => {
  it('every emitted event lands in D1 once', async () => {
    const events = Array.from({ length: 120 }, (_, i) => event('q-ok', i));
    await emit(events.slice(0, 60));
    await emit(events.slice(60));
    await emit(events.slice(0, 10)); // duplicates (a retried producer) are absorbed by INSERT OR IGNORE
    expect(await waitFor(`SELECT COUNT(*) AS n FROM kvroute_events WHERE tenant = 'q-ok'`, 120)).toBe(120);
  });

  it('the events of many concurrent requests travel packed: 400 requests, a few Queue messages, every event stored once', async () => {
    const events = Array.from({ length: 400 }, (_, i) => event('q-pack', i));
    await Promise.all(events.map((e) => emit([e])));
    expect(await waitFor(`SELECT COUNT(*) AS n FROM kvroute_events WHERE tenant = 'q-pack'`, 400)).toBe(400);
    const messages = await waitFor(`SELECT COUNT(DISTINCT msg) AS n FROM carried WHERE tenant = 'q-pack'`, 1);
    expect(messages).toBeGreaterThan(0);
    expect(messages).toBeLessThanOrEqual(40);
  });

  it('messages retried while the store is down arrive after it recovers', async () => {
    await mf.dispatchFetch('http://kvroute/store?down=1');
    const events = Array.from({ length: 30 }, (_, i) => event('q-retry', i));
    await emit(events);
    await new Promise((r) => setTimeout(r, 1500)); // at least one failed delivery attempt
    await mf.dispatchFetch('http://kvroute/store?down=0');
    expect(await waitFor(`SELECT COUNT(*) AS n FROM kvroute_events WHERE tenant = 'q-retry'`, 30)).toBe(30);
  });

  it('a message that can never be stored ends in the dead-letter queue, not lost', async () => {
    const bad = { type: 'request', event_id: 'not-a-uuid', tenant: 'q-bad' };
    await mf.dispatchFetch('http://kvroute/emit', { method: 'POST', body: JSON.stringify([bad]) });
    expect(await waitFor(`SELECT COUNT(*) AS n FROM dlq WHERE body LIKE '%not-a-uuid%'`, 1)).toBe(1);
  });

  it('a poisoned event among good ones: the others are stored, the poison gets a dead-letter row and reaches the DLQ', async () => {
    const good = Array.from({ length: 20 }, (_, i) => event('q-poison', i));
    const poisoned = { ...event('q-poison', 99), prompt_tokens: -5 };
    await emit([...good.slice(0, 10), poisoned, ...good.slice(10)]);
    expect(await waitFor(`SELECT COUNT(*) AS n FROM kvroute_events WHERE tenant = 'q-poison'`, 20)).toBe(20);
    expect(await waitFor(`SELECT COUNT(*) AS n FROM kvroute_dead_letters WHERE event_id = '${poisoned.event_id}' AND reason LIKE 'not a valid event: prompt_tokens%'`, 1)).toBe(1);
    expect(await waitFor(`SELECT COUNT(*) AS n FROM dlq WHERE body LIKE '%${poisoned.event_id}%'`, 1)).toBe(1);
    expect(await waitFor(`SELECT COUNT(*) AS n FROM dlq WHERE body LIKE '%q-poison%'`, 1)).toBe(1); // one pack, once
  });
});
