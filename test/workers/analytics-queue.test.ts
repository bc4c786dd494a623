// The Workers-side analytics path inside the real workerd runtime: Queue producer batching, the consumer's
// ack/retry per message (through vitest-pool-workers' MessageBatch), and assignment determinism across runtimes.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { analyticsEventSchema, type AnalyticsEvent } from '../../src/analytics/event.ts';
import { handleEventBatch, QueueEventProducer, retryDelaySeconds } from '../../src/analytics/delivery/queue.ts';
import { DataRejectedError, type AnalyticsSink } from '../../src/analytics/sink.ts';
import type { DeadLetter } from '../../src/analytics/dead-letter.ts';
import { bucketOf } from '../../src/routing/experiments.ts';
import { workerSinkFromEnv } from '../../src/analytics/worker-sinks.ts';
import { workerAnalytics } from '../../src/analytics/worker-analytics.ts';

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
  it('sends one JSON message per event, at most 100 per sendBatch', async () => {
    const calls: { body: unknown; contentType?: string }[][] = [];
    const producer = new QueueEventProducer({ sendBatch: async (msgs) => void calls.push([...msgs]) });
    const events = Array.from({ length: 250 }, (_, i) => event(i));
    await producer.write(events);
    expect(calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(calls.flat().map((m) => (m.body as AnalyticsEvent).event_id)).toEqual(events.map((e) => e.event_id));
    expect(calls[0]?.[0]?.contentType).toBe('json');
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
    expect(out).toEqual({ written: 3, retried: 1, invalid: 1, rejected: 0 });
    expect([...sink.stored.keys()].sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2']);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['bad']);
  });

  it('splits around an event the store refuses: the others are acked, only the poison is retried, with a dead-letter row', async () => {
    const events = Array.from({ length: 10 }, (_, i) => event(i));
    const batch = createMessageBatch('kvroute-events', events.map((e, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body: e })));
    const ctx = createExecutionContext();
    const sink = new RecordingSink();
    sink.poison.add(events[6]!.event_id);
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    const result = await getQueueResult(batch, ctx);
    expect(out).toEqual({ written: 9, retried: 1, invalid: 0, rejected: 1 });
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm7', 'm8', 'm9']);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m6']);
    expect(sink.deadLetters).toHaveLength(1);
    expect(sink.deadLetters[0]).toMatchObject({ event_id: events[6]!.event_id, reason: 'recording rejected the data: type mismatch' });
    expect(JSON.parse(sink.deadLetters[0]!.raw).event_id).toBe(events[6]!.event_id);
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
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m0', 'm1']);
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

describe('worker sinks', () => {
  it('builds the ClickHouse sink (@clickhouse/client-web on workerd); a refused connection rejects, so the consumer retries', async () => {
    const sink = workerSinkFromEnv({ CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    expect(sink.name).toBe('clickhouse');
    const batch = createMessageBatch('kvroute-events', [{ id: 'm0', timestamp: new Date(), attempts: 1, body: event(1) }]);
    const ctx = createExecutionContext();
    const out = await handleEventBatch(batch, sink, { log: () => {} });
    expect(out.written).toBe(0);
    expect((await getQueueResult(batch, ctx)).retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(['m0']);
  });

  it('refuses to run without any sink configured', () => {
    expect(() => workerSinkFromEnv({})).toThrow(/ANALYTICS_DB/);
  });
});

describe('workerAnalytics (request path)', () => {
  it('sends to the Queue and writes one WAE data point per event', async () => {
    const sent: unknown[] = [];
    const points: unknown[] = [];
    const a = workerAnalytics({ EVENTS: { sendBatch: async (m) => void sent.push(...m) }, EVENT_COUNTERS: { writeDataPoint: (p) => void points.push(p) } });
    await a.emit([event(1), event(2)]);
    expect(sent).toHaveLength(2);
    expect(points).toHaveLength(2);
  });

  it('falls back to the store when the Queue refuses, and never rejects', async () => {
    let tries = 0;
    const a = workerAnalytics({ EVENTS: { sendBatch: async () => { tries++; throw new Error('queue down'); } }, CLICKHOUSE_URL: 'http://127.0.0.1:9' });
    await expect(a.emit([event(1)])).resolves.toBeUndefined();
    expect(tries).toBe(3);
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
