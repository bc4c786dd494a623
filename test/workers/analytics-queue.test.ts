// The Workers-side analytics path inside the real workerd runtime: the request path's coalescing and packing,
// the consumer's ack/retry per message (vitest-pool-workers' MessageBatch), the fallback, the D1 outbox, and
// assignment determinism across runtimes.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { analyticsEventSchema, type AnalyticsEvent } from '../../src/analytics/event.ts';
import { handleEventBatch, QueueEventProducer, retryDelaySeconds } from '../../src/analytics/delivery/queue.ts';
import { packEvents, type EventPack } from '../../src/analytics/delivery/queue-message.ts';
import type { OutboxDbLike } from '../../src/analytics/delivery/outbox.ts';
import { DataRejectedError, type AnalyticsSink } from '../../src/analytics/sink.ts';
import type { DeadLetter } from '../../src/analytics/dead-letter.ts';
import { bucketOf } from '../../src/experiments/assignment.ts';
import { workerSinkFromEnv } from '../../src/workers/worker-sinks.ts';
import { workerAnalytics } from '../../src/workers/worker-analytics.ts';
import { keptEvent } from '../helpers/dead-letters.ts';

const event = (i: number): AnalyticsEvent =>
  analyticsEventSchema.parse({ type: 'request', event_id: crypto.randomUUID(), ts: 1_764_406_800_000 + i, tenant: 't1', request_id: `r${i}`, correlation_id: `r${i}`, model: 'm', experiment: 'e', arm: 'a', status: 200, latency_ms: 12 });

class RecordingSink implements AnalyticsSink {
  readonly name = 'recording';
  fail = false;
  /** Event ids the store refuses as bad data (any batch holding one is rejected whole, as ClickHouse does). */
  readonly poison = new Set<string>();
  readonly stored = new Map<string, AnalyticsEvent>();
  readonly deadLetters: DeadLetter[] = [];
  async write(events: readonly AnalyticsEvent[]) {
    if (this.fail) throw new Error('store down');
    if (events.some((e) => this.poison.has(e.event_id))) throw new DataRejectedError('recording rejected the data: type mismatch');
    for (const e of events) this.stored.set(e.event_id, e);
  }
  async writeDeadLetters(letters: readonly DeadLetter[]) {
    this.deadLetters.push(...letters);
  }
}

describe('Queue producer', () => {
  it('packs events into few messages, each under the 128 KB message limit, each sendBatch under 256 KB', async () => {
    const calls: { body: unknown; contentType?: string }[][] = [];
    const producer = new QueueEventProducer({ sendBatch: async (msgs) => void calls.push([...msgs]) });
    const big = (i: number) => ({ ...event(i), error_message: 'x'.repeat(900), decision: 'y'.repeat(500) });
    const events = Array.from({ length: 600 }, (_, i) => (i % 2 ? big(i) : event(i)));
    await producer.write(events);
    const messages = calls.flat();
    expect(messages.length).toBeLessThan(20);
    for (const m of messages) expect(JSON.stringify(m.body).length).toBeLessThan(128_000);
    for (const c of calls) expect(c.reduce((n, m) => n + JSON.stringify(m.body).length, 0)).toBeLessThan(256_000);
    expect(messages.flatMap((m) => (m.body as EventPack).events.map((e) => e.event_id))).toEqual(events.map((e) => e.event_id));
    expect(messages[0]?.contentType).toBe('json');
  });
});

describe('Queue consumer (handleEventBatch)', () => {
  it('writes valid events and acks them; retries an invalid message towards the DLQ', async () => {
    const events = [event(1), event(2), event(3)];
    const batch = createMessageBatch('kvroute-events', [
      ...events.map((e, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body: e })),
      { id: 'bad', timestamp: new Date(), attempts: 2, body: { type: 'request', event_id: 'not-a-uuid' } },
    ]);
    const ctx = createExecutionContext();
    const sink = new RecordingSink();
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    const result = await getQueueResult(batch, ctx);
    expect(out).toEqual({ written: 3, acked: 3, retried: 1, invalid: 1, rejected: 0 });
    expect([...sink.stored.keys()].sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['bad']);
  });

  it('splits around an event the store refuses: the others are acked, only the poison is retried, with a dead-letter row', async () => {
    const events = Array.from({ length: 10 }, (_, i) => event(i));
    const batch = createMessageBatch('kvroute-events', events.map((e, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body: e })));
    const ctx = createExecutionContext();
    const sink = new RecordingSink();
    sink.poison.add(events[6]!.event_id);
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    const result = await getQueueResult(batch, ctx);
    expect(out).toEqual({ written: 9, acked: 9, retried: 1, invalid: 0, rejected: 1 });
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm7', 'm8', 'm9']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['m6']);
    expect(sink.deadLetters).toHaveLength(1);
    expect(sink.deadLetters[0]).toMatchObject({ event_id: events[6]!.event_id, reason: 'recording rejected the data: type mismatch' });
    expect(keptEvent(sink.deadLetters[0]!.raw).event_id).toBe(events[6]!.event_id);
  });

  it('writes a dead-letter row for a message that is not a valid event too', async () => {
    const batch = createMessageBatch('kvroute-events', [{ id: 'bad', timestamp: new Date(), attempts: 1, body: { ...event(1), prompt_tokens: -5 } }]);
    const sink = new RecordingSink();
    await handleEventBatch(batch, sink, { log: () => {} });
    expect(sink.deadLetters).toHaveLength(1);
    expect(sink.deadLetters[0]?.reason).toMatch(/not a valid event: prompt_tokens/);
  });

  it('retries every message with backoff when the sink fails, and acks nothing', async () => {
    const batch = createMessageBatch('kvroute-events', [event(1), event(2)].map((e, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 3, body: e })));
    const ctx = createExecutionContext();
    const sink = new RecordingSink();
    sink.fail = true;
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    const result = await getQueueResult(batch, ctx);
    expect(out.written).toBe(0);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['m0', 'm1']);
  });

  it('redelivery of an already-written batch stores nothing twice (idempotent sink contract)', async () => {
    const sink = new RecordingSink();
    const events = [event(1), event(2)];
    for (let round = 0; round < 2; round++) {
      const batch = createMessageBatch('kvroute-events', events.map((e, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: round + 1, body: e })));
      await handleEventBatch(batch, sink, { log: () => {} });
    }
    expect(sink.stored.size).toBe(2);
  });
});

describe('Queue consumer with packed messages', () => {
  it('stores every event of every pack and acks the packs; bare events (the older format) in the same batch too', async () => {
    const events = Array.from({ length: 30 }, (_, i) => event(i));
    const [p1, p2] = [packEvents(events.slice(0, 14))[0]?.body, packEvents(events.slice(14, 29))[0]?.body];
    const batch = createMessageBatch('kvroute-events', [
      { id: 'p1', timestamp: new Date(), attempts: 1, body: p1 },
      { id: 'p2', timestamp: new Date(), attempts: 1, body: p2 },
      { id: 'bare', timestamp: new Date(), attempts: 1, body: events[29] },
    ]);
    const ctx = createExecutionContext();
    const sink = new RecordingSink();
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    const result = await getQueueResult(batch, ctx);
    expect(out).toEqual({ written: 30, acked: 3, retried: 0, invalid: 0, rejected: 0 });
    expect(sink.stored.size).toBe(30);
    expect(result.explicitAcks.sort()).toEqual(['bare', 'p1', 'p2']);
  });

  it("a poisoned event in a pack: the pack's other events and the other packs are stored, the poison is dead-lettered, its pack retried towards the DLQ", async () => {
    const events = Array.from({ length: 20 }, (_, i) => event(i));
    const sink = new RecordingSink();
    sink.poison.add(events[3]!.event_id);
    const batch = createMessageBatch('kvroute-events', [
      { id: 'p1', timestamp: new Date(), attempts: 1, body: packEvents(events.slice(0, 10))[0]?.body },
      { id: 'p2', timestamp: new Date(), attempts: 1, body: packEvents(events.slice(10))[0]?.body },
    ]);
    const ctx = createExecutionContext();
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    const result = await getQueueResult(batch, ctx);
    expect(out).toEqual({ written: 19, acked: 1, retried: 1, invalid: 0, rejected: 1 });
    expect(sink.stored.has(events[3]!.event_id)).toBe(false);
    expect(sink.stored.size).toBe(19);
    expect(sink.deadLetters.map((d) => d.event_id)).toEqual([events[3]!.event_id]);
    expect(result.explicitAcks).toEqual(['p2']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['p1']);
  });

  it('an invalid event inside a pack gets its own dead-letter row; the valid ones are stored', async () => {
    const good = [event(1), event(2)];
    const batch = createMessageBatch('kvroute-events', [
      { id: 'p', timestamp: new Date(), attempts: 1, body: { kvroute_events: 1, events: [good[0], { ...event(3), prompt_tokens: -5 }, good[1]] } },
    ]);
    const sink = new RecordingSink();
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    expect(out).toMatchObject({ written: 2, acked: 0, retried: 1, invalid: 1 });
    expect(sink.deadLetters).toHaveLength(1);
    expect(sink.deadLetters[0]?.reason).toMatch(/not a valid event: prompt_tokens/);
  });
});

describe('worker sinks', () => {
  it('builds the ClickHouse sink (@clickhouse/client-web on workerd); a refused connection rejects, so the consumer retries', async () => {
    const sink = workerSinkFromEnv({ CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    expect(sink.name).toBe('clickhouse');
    const batch = createMessageBatch('kvroute-events', [{ id: 'm0', timestamp: new Date(), attempts: 1, body: event(1) }]);
    const ctx = createExecutionContext();
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    expect(out.written).toBe(0);
    expect((await getQueueResult(batch, ctx)).retryMessages.map((m) => m.msgId)).toEqual(['m0']);
  });

  it('refuses to run without any sink configured', () => {
    expect(() => workerSinkFromEnv({})).toThrow(/ANALYTICS_DB/);
  });
});

describe('workerAnalytics (request path)', () => {
  const db = (env as unknown as { ANALYTICS_DB: OutboxDbLike & Parameters<typeof workerAnalytics>[0]['ANALYTICS_DB'] }).ANALYTICS_DB;

  it('coalesces the events of many concurrent requests into one Queue send, and writes one WAE data point per event', async () => {
    const sends: { body: unknown }[][] = [];
    const points: unknown[] = [];
    const a = workerAnalytics({ EVENTS: { sendBatch: async (m) => void sends.push([...m]) }, EVENT_COUNTERS: { writeDataPoint: (p) => void points.push(p) } }, { maxWaitMs: 50 });
    const events = Array.from({ length: 120 }, (_, i) => event(i));
    await Promise.all(events.map((e) => a.emit([e])).filter((p) => p !== undefined));
    expect(sends).toHaveLength(1);
    expect(sends[0]).toHaveLength(1);
    expect((sends[0]![0]!.body as EventPack).events.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(points).toHaveLength(120);
  });

  it('sends a full batch at once, without waiting for the timer', async () => {
    let sent = 0;
    const a = workerAnalytics({ EVENTS: { sendBatch: async (m) => void (sent += [...m].length) } }, { maxEvents: 10, maxWaitMs: 2_000 });
    const waits = Array.from({ length: 10 }, (_, i) => a.emit([event(i)]));
    expect(waits.filter((w) => w !== undefined)).toHaveLength(2); // the opener and the request that filled it
    await waits[9];
    expect(sent).toBe(1);
  });

  it('falls back to the store in one write per batch (not one per event) when the Queue refuses, and never rejects', async () => {
    let tries = 0;
    const store = new RecordingSink();
    let writes = 0;
    const counting: AnalyticsSink = { name: 'counting', write: async (e) => (writes++, store.write(e)), writeDeadLetters: (l) => store.writeDeadLetters(l) };
    const a = workerAnalytics({ EVENTS: { sendBatch: async () => { tries++; throw new Error('queue down'); } } }, { store: counting, maxWaitMs: 20 });
    const events = Array.from({ length: 80 }, (_, i) => event(i));
    await expect(Promise.all(events.map((e) => a.emit([e])).filter((p) => p !== undefined))).resolves.toBeDefined();
    expect(tries).toBe(3);
    expect(writes).toBe(1);
    expect(store.stored.size).toBe(80);
  });

  it('keeps events in the D1 outbox when neither the Queue nor the store takes them, and sends them once the Queue accepts again', async () => {
    let queueUp = false;
    const queued: AnalyticsEvent[] = [];
    const store = new RecordingSink();
    store.fail = true;
    const a = workerAnalytics(
      { EVENTS: { sendBatch: async (m) => { if (!queueUp) throw new Error('queue down'); for (const x of m) queued.push(...(x.body as EventPack).events); } }, ANALYTICS_DB: db },
      { store, maxWaitMs: 20 },
    );
    const lost = Array.from({ length: 60 }, (_, i) => event(i));
    await Promise.all(lost.map((e) => a.emit([e])).filter((p) => p !== undefined));
    expect(queued).toHaveLength(0);
    const kept = await db.prepare('SELECT COUNT(*) AS n FROM kvroute_outbox').bind().all<{ n: number }>();
    expect(kept.results[0]?.n).toBeGreaterThanOrEqual(60);

    queueUp = true;
    const later = event(1000);
    await a.emit([later]);
    const ids = new Set(queued.map((e) => e.event_id));
    for (const e of [...lost, later]) expect(ids.has(e.event_id)).toBe(true);
    const left = await db.prepare('SELECT COUNT(*) AS n FROM kvroute_outbox').bind().all<{ n: number }>();
    expect(left.results[0]?.n).toBe(0);
  });

  it('without a Queue bound, writes each coalesced batch straight to the store, and keeps what the store refuses in the outbox until it takes it', async () => {
    const store = new RecordingSink();
    let writes = 0;
    const counting: AnalyticsSink = { name: 'counting', write: async (e) => (writes++, store.write(e)), writeDeadLetters: (l) => store.writeDeadLetters(l) };
    const a = workerAnalytics({ ANALYTICS_DB: db }, { store: counting, maxWaitMs: 20 });
    const events = Array.from({ length: 50 }, (_, i) => event(2000 + i));
    await Promise.all(events.map((e) => a.emit([e])).filter((p) => p !== undefined));
    expect(writes).toBe(1);
    expect(events.every((e) => store.stored.has(e.event_id))).toBe(true);

    store.fail = true;
    const kept = Array.from({ length: 5 }, (_, i) => event(3000 + i));
    await Promise.all(kept.map((e) => a.emit([e])).filter((p) => p !== undefined));
    expect(kept.some((e) => store.stored.has(e.event_id))).toBe(false);
    store.fail = false;
    const later = event(3100);
    await a.emit([later]);
    for (const e of [...kept, later]) expect(store.stored.has(e.event_id)).toBe(true);
    const left = await db.prepare('SELECT COUNT(*) AS n FROM kvroute_outbox').bind().all<{ n: number }>();
    expect(left.results[0]?.n).toBe(0);
  });

  it('logs the events as lost, without rejecting, when there is no outbox and nothing takes them', async () => {
    const store = new RecordingSink();
    store.fail = true;
    const a = workerAnalytics({ EVENTS: { sendBatch: async () => { throw new Error('queue down'); } } }, { store, maxWaitMs: 10 });
    await expect(a.emit([event(1)])).resolves.toBeUndefined();
  });
});

describe('retry backoff', () => {
  it('doubles from 5 s and caps at 5 min', () => {
    expect([1, 2, 3, 4, 10, 30].map(retryDelaySeconds)).toEqual([5, 10, 20, 40, 300, 300]);
  });
});

describe('assignment in workerd', () => {
  it('gives the same buckets as on Node (golden values from the unit tests)', () => {
    expect([bucketOf('exp1', 'u:alice'), bucketOf('exp1', 'k:key_1'), bucketOf('s', 'h:x')]).toEqual([6700, 8958, 1171]);
  });
});
