// The sink contract: write() resolves once the events are stored, and rejects otherwise (the delivery layer
// retries). Writes must be idempotent by event_id, because retries re-send whole batches.
import type { AnalyticsEvent } from './event.ts';

export interface AnalyticsSink {
  readonly name: string;
  write(events: readonly AnalyticsEvent[]): Promise<void>;
}

/** Writes every batch to all sinks; fails if any fails (retrying is safe: all sinks are idempotent). */
export class FanoutSink implements AnalyticsSink {
  readonly name: string;
  constructor(private readonly sinks: readonly AnalyticsSink[]) {
    this.name = sinks.map((s) => s.name).join('+') || 'none';
  }

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    if (events.length === 0) return;
    const results = await Promise.allSettled(this.sinks.map((s) => s.write(events)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${this.sinks[i].name}: ${errText(r.reason)}`] : []));
    if (failed.length) throw new Error(`analytics sink failed: ${failed.join('; ')}`);
  }
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
