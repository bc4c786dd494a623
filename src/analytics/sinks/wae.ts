// Workers Analytics Engine sink: aggregate counters only (sampled, no row lookup, no pairing guarantees).
// writeDataPoint is fire-and-forget, so this sink is NOT idempotent: call it once per event from the request's
// own invocation (<= 25 data points per invocation), never from a retried Queue consumer.
import { toWaeDataPoint, type AnalyticsEvent, type WaeDataPoint } from '../event.ts';
import type { AnalyticsSink } from '../sink.ts';

export interface WaeDatasetLike {
  writeDataPoint(point: WaeDataPoint): void;
}

/** Workers allow 25 writeDataPoint calls per invocation; the router needs 1-3 per request. */
export const WAE_POINTS_PER_INVOCATION = 25;

export class WaeSink implements AnalyticsSink {
  readonly name = 'wae';
  constructor(private readonly dataset: WaeDatasetLike) {}

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    for (const e of events.slice(0, WAE_POINTS_PER_INVOCATION)) this.dataset.writeDataPoint(toWaeDataPoint(e));
  }
}
