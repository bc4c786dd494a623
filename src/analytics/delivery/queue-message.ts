// The wire format of the analytics Queue. A message carries a pack of events (`{ kvroute_events: 1, events }`):
// one message per flush of an isolate instead of one per event, because every message costs a billed Queue
// operation and, in the local runtime, a broker timer. A bare event (the format before packs) is still read, so
// messages already queued when a deployment updates are not lost.
import type { AnalyticsEvent } from '../event.ts';

/** Queue limits: 128 KB per message, 256 KB and 100 messages per sendBatch. Packs stay under these with margin. */
export const MAX_MESSAGE_BYTES = 100_000;
export const MAX_SEND_BYTES = 240_000;
export const MAX_SEND_MESSAGES = 100;

export interface EventPack {
  kvroute_events: 1;
  events: AnalyticsEvent[];
}

/** Bytes an event takes in a message (JSON; the Queue measures the serialised body). */
export function eventBytes(e: AnalyticsEvent): number {
  return JSON.stringify(e).length + 1;
}

/** A pack and its size in bytes (what the Queue counts against its limits). */
export interface SizedPack {
  body: EventPack;
  bytes: number;
}

/** Splits events into packs of at most MAX_MESSAGE_BYTES each (an event larger than that travels alone). */
export function packEvents(events: readonly AnalyticsEvent[], maxBytes = MAX_MESSAGE_BYTES): SizedPack[] {
  const packs: SizedPack[] = [];
  let current: AnalyticsEvent[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = eventBytes(e);
    if (current.length && bytes + size > maxBytes) {
      packs.push({ body: { kvroute_events: 1, events: current }, bytes });
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length) packs.push({ body: { kvroute_events: 1, events: current }, bytes });
  return packs;
}

/**
 * The candidate events of a message body, not yet validated: a pack's events, or the body itself (a bare event
 * or something invalid, which the consumer's validation reports). A pack whose `events` is not an array is
 * returned as the body, so that it is dead-lettered whole.
 */
export function eventsOfMessage(body: unknown): unknown[] {
  if (body && typeof body === 'object' && (body as Partial<EventPack>).kvroute_events === 1 && Array.isArray((body as EventPack).events)) {
    return (body as EventPack).events;
  }
  return [body];
}
