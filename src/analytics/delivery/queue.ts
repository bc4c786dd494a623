// Durable delivery on Workers through a Cloudflare Queue. The request path produces (QueueEventProducer, inside
// waitUntil); the Worker's queue() handler consumes batches and writes them to the sinks (handleEventBatch).
// Per message: ack when stored, retry with backoff when the sink failed; after max_retries the Queue moves the
// message to the dead-letter queue configured in wrangler.toml. Sinks are idempotent, so redelivery is safe.
import { analyticsEventSchema, type AnalyticsEvent } from '../event.ts';
import { errText, type AnalyticsSink } from '../sink.ts';

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
}

/**
 * The consumer: validates each message, writes the valid ones in one sink call, then acks them (or retries
 * them all with backoff if the write failed). A message that is not a valid event is retried too, so that it
 * ends up in the dead-letter queue for inspection instead of being dropped.
 * Worker: `async queue(batch, env) { await handleEventBatch(batch, workerSinkFromEnv(env)); }`
 */
export interface ConsumerOptions {
  /** Where failures are reported (default console.error). */
  log?(msg: string): void;
  /** Retry delay per message from its attempt count (default retryDelaySeconds). */
  delaySeconds?(attempts: number): number;
}

export async function handleEventBatch(batch: MessageBatchLike, sink: AnalyticsSink, opts: ConsumerOptions = {}): Promise<BatchOutcome> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const delay = opts.delaySeconds ?? retryDelaySeconds;
  const valid: AnalyticsEvent[] = [];
  const validMsgs: QueueMessageLike[] = [];
  let invalid = 0;
  for (const msg of batch.messages) {
    const parsed = analyticsEventSchema.safeParse(msg.body);
    if (parsed.success) {
      valid.push(parsed.data);
      validMsgs.push(msg);
    } else {
      invalid++;
      log(`kvroute analytics: message ${msg.id} on ${batch.queue} is not a valid event (${parsed.error.issues[0]?.message}); retrying towards the DLQ`);
      msg.retry({ delaySeconds: delay(msg.attempts) });
    }
  }
  if (valid.length === 0) return { written: 0, retried: invalid, invalid };
  try {
    await sink.write(valid);
  } catch (err) {
    log(`kvroute analytics: ${sink.name} write of ${valid.length} events failed: ${errText(err)}; retrying`);
    for (const msg of validMsgs) msg.retry({ delaySeconds: delay(msg.attempts) });
    return { written: 0, retried: validMsgs.length + invalid, invalid };
  }
  for (const msg of validMsgs) msg.ack();
  return { written: valid.length, retried: invalid, invalid };
}
