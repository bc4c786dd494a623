// Durable delivery on Workers through a Cloudflare Queue. The request path produces (QueueEventProducer, fed by
// the isolate's coalescer inside waitUntil); the Worker's queue() handler consumes batches and writes them to the
// sinks (handleEventBatch). A message carries a pack of events (queue-message.ts). Per message: ack when all its
// events are stored, retry with backoff when the store is unreachable; a message holding an event the store
// refuses on its own (or that is no valid event) gets a dead-letter row for that event and is retried until,
// after max_retries, the Queue moves it to the dead-letter queue configured in wrangler.toml. Sinks are
// idempotent, so redelivery (which re-sends a pack's other events) is safe.
import { deadLetterOf, type DeadLetter } from '../dead-letter.ts';
import { analyticsEventSchema, type AnalyticsEvent } from '../event.ts';
import { errText, type AnalyticsSink } from '../sink.ts';
import { eventsOfMessage, MAX_SEND_BYTES, MAX_SEND_MESSAGES, packEvents, type EventPack } from './queue-message.ts';
import { writeSplitting } from './split.ts';

/** The producer side of a Queue binding (structural, so core code needs no Workers types). */
export interface QueueProducerLike {
  sendBatch(messages: Iterable<{ body: unknown; contentType?: 'json' | 'text' | 'bytes' | 'v8' }>): Promise<unknown>;
}

export interface QueueMessageLike {
  readonly id: string;
  readonly body: unknown;
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface MessageBatchLike {
  readonly queue: string;
  readonly messages: readonly QueueMessageLike[];
}

/** An AnalyticsSink that sends events as packed Queue messages. write() rejects only if the Queue rejects. */
export class QueueEventProducer implements AnalyticsSink {
  readonly name = 'queue';
  constructor(private readonly queue: QueueProducerLike) {}

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    let batch: { body: EventPack; contentType: 'json' }[] = [];
    let bytes = 0;
    for (const pack of packEvents(events)) {
      const size = pack.bytes + 100; // message overhead
      if (batch.length && (batch.length === MAX_SEND_MESSAGES || bytes + size > MAX_SEND_BYTES)) {
        await this.queue.sendBatch(batch);
        batch = [];
        bytes = 0;
      }
      batch.push({ body: pack.body, contentType: 'json' });
      bytes += size;
    }
    if (batch.length) await this.queue.sendBatch(batch);
  }
}

/** Retry delay for a message that has been tried `attempts` times: 5 s, 10 s, 20 s ... capped at 5 min. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));
}

export interface BatchOutcome {
  /** Events stored. */
  written: number;
  /** Messages acked (all their events stored). */
  acked: number;
  /** Messages retried (the store was unreachable, or they hold an event that is dead-lettered). */
  retried: number;
  /** Events that are not valid events (dead-letter row written). */
  invalid: number;
  /** Events the store refused on their own (dead-letter row written). */
  rejected: number;
}

export interface ConsumerOptions {
  /** Where failures are reported (default console.error). */
  log?(msg: string): void;
  /** Retry delay per message from its attempt count (default retryDelaySeconds). */
  delaySeconds?(attempts: number): number;
}

interface ValidEvent {
  msg: QueueMessageLike;
  event: AnalyticsEvent;
}

/**
 * The consumer: unpacks and validates each message's events, writes the valid ones (split around events the store
 * rejects, see split.ts), then acks the messages whose events were all stored. An event that is invalid, or that
 * the store refused on its own, gets a row in the store's dead-letter table, and its message is retried, so that
 * after max_retries it lands in the dead-letter queue for inspection instead of being dropped. When the store is
 * unreachable, the messages not yet stored are retried with backoff.
 * Worker: `async queue(batch, env) { await handleEventBatch(batch, workerSinkFromEnv(env)); }`
 */
export async function handleEventBatch(batch: MessageBatchLike, sink: AnalyticsSink, opts: ConsumerOptions = {}): Promise<BatchOutcome> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const delay = opts.delaySeconds ?? retryDelaySeconds;
  const valid: ValidEvent[] = [];
  const letters: DeadLetter[] = [];
  const dead = new Set<QueueMessageLike>();
  const waiting = new Set<QueueMessageLike>();
  let invalid = 0;
  for (const msg of batch.messages) {
    for (const candidate of eventsOfMessage(msg.body)) {
      const parsed = analyticsEventSchema.safeParse(candidate);
      if (parsed.success) valid.push({ msg, event: parsed.data });
      else {
        const reason = `not a valid event: ${parsed.error.issues[0]?.path.join('.') || 'event'}: ${parsed.error.issues[0]?.message}`;
        log(`kvroute analytics: message ${msg.id} on ${batch.queue} holds ${reason}; retrying towards the DLQ`);
        letters.push(deadLetterOf(candidate, reason));
        dead.add(msg);
        invalid++;
      }
    }
  }
  const r = await writeSplitting(sink, valid, (v) => v.event);
  for (const { item, reason } of r.rejected) {
    log(`kvroute analytics: ${sink.name} refused event ${item.event.event_id} (message ${item.msg.id}): ${reason}; retrying towards the DLQ`);
    letters.push(deadLetterOf(item.event, reason));
    dead.add(item.msg);
  }
  if (r.unavailable) {
    log(`kvroute analytics: ${sink.name} write of ${r.unavailable.items.length} events failed: ${errText(r.unavailable.error)}; retrying`);
    for (const v of r.unavailable.items) waiting.add(v.msg);
  }
  if (letters.length) {
    await sink.writeDeadLetters?.(letters).catch((err: unknown) => log(`kvroute analytics: dead-letter rows for ${letters.length} events not written: ${errText(err)}`));
  }
  let acked = 0;
  for (const msg of batch.messages) {
    if (dead.has(msg) || waiting.has(msg)) msg.retry({ delaySeconds: delay(msg.attempts) });
    else {
      msg.ack();
      acked++;
    }
  }
  return { written: r.stored.length, acked, retried: batch.messages.length - acked, invalid, rejected: r.rejected.length };
}
