// The sink contract: write() resolves once the events are stored, and rejects otherwise. How it rejects tells
// delivery what to do:
//   * DataRejectedError: the store refused this data (a parse, type or constraint error). Sending the same events
//     again cannot succeed, so delivery splits the batch and dead-letters the event(s) at fault (split.ts);
//   * any other error: the store is unreachable or overloaded; delivery retries the batch with backoff.
// Writes must be idempotent by event_id, because retries re-send whole batches.
import type { AnalyticsEvent } from './event.ts';
import type { DeadLetter } from './dead-letter.ts';

export interface AnalyticsSink {
  readonly name: string;
  write(events: readonly AnalyticsEvent[]): Promise<void>;
  /** Stores dead letters in the store's dead-letter table, where it has one. */
  writeDeadLetters?(letters: readonly DeadLetter[]): Promise<void>;
}

/** The store refused the data itself; retrying the same events cannot succeed. */
export class DataRejectedError extends Error {
  override readonly name = 'DataRejectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for a DataRejectedError (by name too, so that one loaded twice, e.g. in a bundle, still counts). */
export function isDataRejected(err: unknown): boolean {
  return err instanceof DataRejectedError || (err instanceof Error && err.name === 'DataRejectedError');
}

/** Runs a store call and turns the errors that `rejectsData` recognises into a DataRejectedError. */
export async function classifyStoreErrors<T>(store: string, rejectsData: (err: unknown) => boolean, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (rejectsData(err) && !isDataRejected(err)) throw new DataRejectedError(`${store} rejected the data: ${errText(err)}`, { cause: err });
    throw err;
  }
}

/**
 * Writes every batch to all sinks; fails if any fails (retrying is safe: all sinks are idempotent). The failure is
 * a rejection only when every failing sink rejected the data: while one store is down, the batch is retried whole.
 */
export class FanoutSink implements AnalyticsSink {
  readonly name: string;
  constructor(private readonly sinks: readonly AnalyticsSink[]) {
    this.name = sinks.map((s) => s.name).join('+') || 'none';
  }

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.all((s) => s.write(events), 'analytics sink failed');
  }

  async writeDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.all((s) => s.writeDeadLetters?.(letters), 'dead-letter write failed');
  }

  private async all(call: (s: AnalyticsSink) => Promise<void> | undefined, what: string): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map((s) => call(s) ?? Promise.resolve()));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ sink: this.sinks[i]!.name, err: r.reason as unknown }] : []));
    if (failed.length === 0) return;
    const message = `${what}: ${failed.map((f) => `${f.sink}: ${errText(f.err)}`).join('; ')}`;
    throw failed.every((f) => isDataRejected(f.err)) ? new DataRejectedError(message) : new Error(message);
  }
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
