// Workers wiring for the request path: events go to the Queue (durable, batched, retried, DLQ) and, when bound,
// to Workers Analytics Engine as aggregate counters. Call emit() inside ctx.waitUntil.
//   const analytics = workerAnalytics(env);          // once per isolate
//   const sending = analytics.emit([event]);
//   if (sending) ctx.waitUntil(sending);
// The isolate's events are coalesced: one Queue send (a few packed messages) per `maxWaitMs` or `maxEvents`, not
// one message per event. The consumer side is handleEventBatch(batch, workerSinkFromEnv(env)) in queue().
import type { AnalyticsEvent } from '../analytics/event.ts';
import { Coalescer } from '../analytics/delivery/coalescer.ts';
import { EventOutbox, type OutboxDbLike } from '../analytics/delivery/outbox.ts';
import { QueueEventProducer, type QueueProducerLike } from '../analytics/delivery/queue.ts';
import { errText, type AnalyticsSink } from '../analytics/sink.ts';
import { deadLetterOf } from '../analytics/dead-letter.ts';
import { writeSplitting } from '../analytics/delivery/split.ts';
import { workerSinkFromEnv, type AnalyticsEnv } from './worker-sinks.ts';
import type { D1Like } from '../analytics/sinks/d1.ts';
import { WaeSink, type WaeDatasetLike } from '../analytics/sinks/wae.ts';

export interface WorkerAnalyticsEnv extends AnalyticsEnv {
  /** [[queues.producers]] binding = "EVENTS". Optional: without it, batches are written straight to the store. */
  EVENTS?: QueueProducerLike;
  /** [[analytics_engine_datasets]] binding = "EVENT_COUNTERS" (optional) */
  EVENT_COUNTERS?: WaeDatasetLike;
  /** [[d1_databases]] binding = "ANALYTICS_DB": also the outbox for events neither the Queue nor the store took. */
  ANALYTICS_DB?: D1Like & OutboxDbLike;
}

export interface WorkerAnalyticsOptions {
  /** Events per Queue send at most (default 200). */
  maxEvents?: number;
  /** How long an event waits for others to share its send (default 200 ms; the request stays alive meanwhile). */
  maxWaitMs?: number;
  /** How often an isolate looks for kept events while the Queue works (default 60 s). */
  outboxCheckMs?: number;
  /** The store the fallback writes to (default: the consumer's sinks, workerSinkFromEnv). */
  store?: AnalyticsSink;
  now?: () => number;
}

export interface WorkerAnalytics {
  /**
   * Returns a promise when this request is one of the two that carry its batch (see Coalescer): it resolves once
   * the batch was sent and never rejects. Undefined when another request will send the events. If the Queue refuses three times, they are written
   * straight to the store (D1 / ClickHouse, idempotent; an event it rejects is dead-lettered); what the store does
   * not take is kept in the D1 outbox and sent to the Queue once it accepts again. Only if that fails too are the
   * events logged as lost.
   */
  emit(events: readonly AnalyticsEvent[]): Promise<void> | undefined;
  /** Sends what is waiting now. */
  flush(): Promise<void>;
}

export function workerAnalytics(env: WorkerAnalyticsEnv, opts: WorkerAnalyticsOptions = {}): WorkerAnalytics {
  // Without a Queue bound (Queues need a paid plan), batches go straight to the store from the request path.
  const producer = env.EVENTS ? new QueueEventProducer(env.EVENTS) : null;
  const counters = env.EVENT_COUNTERS ? new WaeSink(env.EVENT_COUNTERS) : null;
  const outbox = env.ANALYTICS_DB ? new EventOutbox(env.ANALYTICS_DB) : null;
  const now = opts.now ?? Date.now;
  const outboxCheckMs = opts.outboxCheckMs ?? 60_000;
  let outboxCheckAt = 0; // a new isolate looks once: an evicted one may have left events there
  let direct: AnalyticsSink | null = null;
  const directSink = () => (direct ??= opts.store ?? workerSinkFromEnv(env));

  async function drainOutbox(): Promise<void> {
    if (!outbox || now() < outboxCheckAt) return;
    outboxCheckAt = now() + outboxCheckMs;
    const limit = 500;
    try {
      const resent = await outbox.drain((events) => (producer ?? directSink()).write(events), limit);
      if (resent === limit) outboxCheckAt = 0; // more to send: the next send goes on
    } catch (err) {
      console.error(`kvroute analytics: outbox not drained: ${errText(err)}`);
    }
  }

  async function deliver(events: AnalyticsEvent[]): Promise<void> {
    const queueError = producer ? await sendToQueue(producer, events) : new Error('no Queue bound (EVENTS)');
    if (producer && !queueError) return drainOutbox();
    const unstored = await writeDirect(directSink(), events);
    if (!unstored) return producer ? undefined : drainOutbox();
    try {
      if (!outbox) throw new Error('no outbox (ANALYTICS_DB is not bound)');
      await outbox.keep(unstored.events);
      outboxCheckAt = 0;
      console.error(`kvroute analytics: ${unstored.events.length} events kept in the outbox: queue: ${errText(queueError)}; store: ${errText(unstored.error)}`);
    } catch (err) {
      console.error(`kvroute analytics: ${unstored.events.length} events lost: queue: ${errText(queueError)}; store: ${errText(unstored.error)}; outbox: ${errText(err)}`);
    }
  }

  const coalescer = new Coalescer(deliver, { maxItems: opts.maxEvents ?? 200, maxWaitMs: opts.maxWaitMs ?? 200 });
  return {
    emit(events) {
      if (events.length === 0) return undefined;
      counters?.write(events).catch(() => {}); // fire-and-forget counters
      return coalescer.add(events);
    },
    flush: () => coalescer.flush(),
  };
}

/** Three tries (50 ms, 100 ms apart); resolves to the last error, or null once the Queue took the events. */
async function sendToQueue(producer: QueueEventProducer, events: readonly AnalyticsEvent[]): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.write(events);
      return null;
    } catch (err) {
      if (attempt >= 3) return err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/**
 * The fallback when the Queue refuses: the whole batch straight to the store in one write, split around events it
 * rejects (dead-lettered). Returns the events the store did not take because it was unreachable.
 */
async function writeDirect(sink: AnalyticsSink, events: readonly AnalyticsEvent[]): Promise<{ events: AnalyticsEvent[]; error: unknown } | null> {
  const r = await writeSplitting(sink, events, (e) => e);
  if (r.rejected.length) {
    await sink.writeDeadLetters?.(r.rejected.map((x) => deadLetterOf(x.item, x.reason))).catch((err: unknown) => console.error(`kvroute analytics: dead-letter rows not written: ${errText(err)}`));
  }
  return r.unavailable ? { events: r.unavailable.items, error: r.unavailable.error } : null;
}
