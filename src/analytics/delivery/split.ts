// The one mechanism both delivery paths (the Node buffer and the Workers Queue consumer) use to write a batch:
// when the store rejects the data (DataRejectedError), the batch is bisected until the event(s) at fault stand
// alone, so one poisoned event never holds back the others. About 2·log2(n) extra writes per poisoned event.
// Any other error means the store is unavailable: the split stops and hands the unwritten rest back for a retry.
import type { AnalyticsEvent } from '../event.ts';
import { errText, isDataRejected, type AnalyticsSink } from '../sink.ts';

export interface SplitResult<T> {
  /** Stored (in the order they were written). */
  stored: T[];
  /** Refused on their own, each with the store's reason: dead-letter these. */
  rejected: { item: T; reason: string }[];
  /** The store became unreachable: these were not written (yet); retry them. */
  unavailable: { items: T[]; error: unknown } | null;
  /** Sink calls made. */
  writes: number;
}

/** Writes `items` (events, or Queue messages via `eventOf`), splitting around the ones the store rejects. */
export async function writeSplitting<T>(sink: AnalyticsSink, items: readonly T[], eventOf: (item: T) => AnalyticsEvent): Promise<SplitResult<T>> {
  const out: SplitResult<T> = { stored: [], rejected: [], unavailable: null, writes: 0 };
  // Depth-first, left half first, so the store sees events in their original order.
  const parts: (readonly T[])[] = items.length ? [items] : [];
  while (parts.length) {
    const part = parts.pop()!;
    out.writes++;
    try {
      await sink.write(part.map(eventOf));
      out.stored.push(...part);
    } catch (err) {
      if (!isDataRejected(err)) {
        out.unavailable = { items: [part, ...parts.reverse()].flat(), error: err };
        return out;
      }
      if (part.length === 1) out.rejected.push({ item: part[0]!, reason: errText(err) });
      else {
        const mid = Math.ceil(part.length / 2);
        parts.push(part.slice(mid), part.slice(0, mid));
      }
    }
  }
  return out;
}
