// Durable delivery on Workers through a Cloudflare Queue. The request path produces (QueueEventProducer, inside
// waitUntil); the Worker's queue() handler consumes batches and writes them to the sinks (handleEventBatch).
// Per message: ack when stored, retry with backoff when the store is unreachable; a message the store refuses on
// its own (or that is no valid event) gets a dead-letter row and is retried until, after max_retries, the Queue
// moves it to the dead-letter queue configured in wrangler.toml. Sinks are idempotent, so redelivery is safe.
import { deadLetterOf, type DeadLetter } from '../dead-letter.ts';
import { analyticsEventSchema, type AnalyticsEvent } from '../event.ts';
import { errText, type AnalyticsSink } from '../sink.ts';
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

/** Queue limits: 100 messages and 256 KB per sendBatch, 128 KB per message. */
const MAX_MESSAGES = 100;
const MAX_BATCH_BYTES = 250_000;

/** An AnalyticsSink that sends each event as one Queue message. write() rejects only if the Queue rejects. */
export class QueueEventProducer implements AnalyticsSink {
  readonly name = 'queue';
  constructor(private readonly queue: QueueProducerLike) {}

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    let batch: { body: AnalyticsEvent; contentType: 'json' }[] = [];
    let bytes = 0;
    for (const e of events) {
      const size = JSON.stringify(e).length + 100; // message overhead
      if (batch.length && (batch.length === MAX_MESSAGES || bytes + size > MAX_BATCH_BYTES)) {
        await this.queue.sendBatch(batch);
        batch = [];
        bytes = 0;
      }
      batch.push({ body: e, contentType: 'json' });
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
  written: number;
  retried: number;
  invalid: number;
  /** Messages the store refused on their own (dead-letter row written, message retried towards the DLQ). */
  rejected: number;
}

export interface ConsumerOptions {
  /** Where failures are reported (default console.error). */
  log?(msg: string): void;
  /** Retry delay per message from its attempt count (default retryDelaySeconds). */
  delaySeconds?(attempts: number): number;
}

interface ValidMessage {
  msg: QueueMessageLike;
  event: AnalyticsEvent;
}

/**
 * The consumer: validates each message, writes the valid ones (split around events the store rejects, see
 * split.ts), then acks what was stored. A message that is not a valid event, or whose event the store refused on
 * its own, gets a row in the store's dead-letter table and is retried, so that after max_retries it lands in the
 * dead-letter queue for inspection instead of being dropped, while every other message is acked. When the store
 * is unreachable, the messages not yet stored are retried with backoff.
 * Worker: `async queue(batch, env) { await handleEventBatch(batch, workerSinkFromEnv(env)); }`
 */
export async function handleEventBatch(batch: MessageBatchLike, sink: AnalyticsSink, opts: ConsumerOptions = {}): Promise<BatchOutcome> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const delay = opts.delaySeconds ?? retryDelaySeconds;
  const retry = (msg: QueueMessageLike) => msg.retry({ delaySeconds: delay(msg.attempts) });
  const valid: ValidMessage[] = [];
  const letters: DeadLetter[] = [];
  const dead: QueueMessageLike[] = [];
  for (const msg of batch.messages) {
    const parsed = analyticsEventSchema.safeParse(msg.body);
    if (parsed.success) valid.push({ msg, event: parsed.data });
    else {
      const reason = `not a valid event: ${parsed.error.issues[0]?.path.join('.') || 'event'}: ${parsed.error.issues[0]?.message}`;
      log(`kvroute analytics: message ${msg.id} on ${batch.queue} is ${reason}; retrying towards the DLQ`);
      letters.push(deadLetterOf(msg.body, reason));
      dead.push(msg);
    }
  }
  const invalid = dead.length;
  const r = await writeSplitting(sink, valid, (v) => v.event);
  for (const v of r.stored) v.msg.ack();
  for (const { item, reason } of r.rejected) {
    log(`kvroute analytics: ${sink.name} refused event ${item.event.event_id} (message ${item.msg.id}): ${reason}; retrying towards the DLQ`);
    letters.push(deadLetterOf(item.event, reason));
    dead.push(item.msg);
  }
  if (r.unavailable) {
    log(`kvroute analytics: ${sink.name} write of ${r.unavailable.items.length} events failed: ${errText(r.unavailable.error)}; retrying`);
    for (const v of r.unavailable.items) retry(v.msg);
  }
  if (letters.length) {
    await sink.writeDeadLetters?.(letters).catch((err: unknown) => log(`kvroute analytics: dead-letter rows for ${letters.length} messages not written: ${errText(err)}`));
  }
  for (const msg of dead) retry(msg);
  return { written: r.stored.length, retried: dead.length + (r.unavailable?.items.length ?? 0), invalid, rejected: r.rejected.length };
}
