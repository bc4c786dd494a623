// Workers wiring for the request path: events go to the Queue (durable, batched, retried, DLQ) and, when bound,
// to Workers Analytics Engine as aggregate counters. Call emit() inside ctx.waitUntil.
//   const analytics = workerAnalytics(env);
//   ctx.waitUntil(analytics.emit([event]));
// The consumer side is handleEventBatch(batch, workerSinkFromEnv(env)) in the Worker's queue() handler.
import type { AnalyticsEvent } from './event.ts';
import { QueueEventProducer, type QueueProducerLike } from './delivery/queue.ts';
import { errText, type AnalyticsSink } from './sink.ts';
import { deadLetterOf } from './dead-letter.ts';
import { writeSplitting } from './delivery/split.ts';
import { workerSinkFromEnv, type AnalyticsEnv } from './worker-sinks.ts';
import { WaeSink, type WaeDatasetLike } from './sinks/wae.ts';

export interface WorkerAnalyticsEnv extends AnalyticsEnv {
  /** [[queues.producers]] binding = "EVENTS" */
  EVENTS: QueueProducerLike;
  /** [[analytics_engine_datasets]] binding = "EVENT_COUNTERS" (optional) */
  EVENT_COUNTERS?: WaeDatasetLike;
}

export interface WorkerAnalytics {
  /**
   * Resolves when the Queue accepted the events; never rejects. If the Queue refuses three times, the events are
   * written straight to the store (D1 / ClickHouse, idempotent; an event it rejects is dead-lettered); only if the
   * store is unreachable too are they logged as lost.
   */
  emit(events: readonly AnalyticsEvent[]): Promise<void>;
}

export function workerAnalytics(env: WorkerAnalyticsEnv): WorkerAnalytics {
  const producer = new QueueEventProducer(env.EVENTS);
  const counters = env.EVENT_COUNTERS ? new WaeSink(env.EVENT_COUNTERS) : null;
  let direct: AnalyticsSink | null = null;
  const directSink = () => (direct ??= workerSinkFromEnv(env));
  return {
    async emit(events) {
      if (events.length === 0) return;
      counters?.write(events).catch(() => {}); // fire-and-forget counters
      for (let attempt = 1; ; attempt++) {
        try {
          await producer.write(events);
          return;
        } catch (err) {
          if (attempt >= 3) {
            await writeDirect(directSink(), events, err);
            return;
          }
          await new Promise((r) => setTimeout(r, 50 * attempt));
        }
      }
    },
  };
}

/** The fallback when the Queue refuses: straight to the store, split around events it rejects (dead-lettered). */
async function writeDirect(sink: AnalyticsSink, events: readonly AnalyticsEvent[], queueError: unknown): Promise<void> {
  try {
    const r = await writeSplitting(sink, events, (e) => e);
    if (r.rejected.length) await sink.writeDeadLetters?.(r.rejected.map((x) => deadLetterOf(x.item, x.reason)));
    if (r.unavailable) console.error(`kvroute analytics: ${r.unavailable.items.length} events lost: queue: ${errText(queueError)}; store: ${errText(r.unavailable.error)}`);
  } catch (err) {
    console.error(`kvroute analytics: dead-letter rows not written: ${errText(err)}`);
  }
}
