// A dead letter: an event a store refused (DataRejectedError), or a spooled line that is not a valid event at all,
// kept with the reason instead of blocking the events behind it. Node appends them to dead-letters.ndjson in the
// spool directory (always) and to the store's kvroute_dead_letters table (where it takes them); the Workers Queue
// consumer writes the table row and retries the message towards the dead-letter queue.
import { hashString } from '../util/hash.ts';
import { clipText } from '../util/text.ts';

export const DEAD_LETTERS_TABLE = 'kvroute_dead_letters';

export interface DeadLetter {
  /** The event's id, or `raw:<hash of raw>` when it has none (so a replayed dead letter collapses too). */
  event_id: string;
  /** When it was dead-lettered, ms since the epoch. */
  ts_ms: number;
  /** What refused it and why, e.g. "clickhouse rejected the data: Code: 72 ... prompt_tokens". */
  reason: string;
  /** The event as JSON, or the spool line as found. */
  raw: string;
}

/** Column order of the dead-letter table (ClickHouse, SQLite, D1). */
export const DEAD_LETTER_COLUMNS = ['event_id', 'ts_ms', 'reason', 'raw'] as const;

const MAX_REASON_CHARS = 2_000;
const MAX_RAW_CHARS = 1_000_000;

function jsonOf(item: unknown): string {
  try {
    return JSON.stringify(item) ?? String(item);
  } catch {
    return String(item);
  }
}

/** A dead letter for `item` (an event, anything a spool line parsed to, or the unparseable line itself). */
export function deadLetterOf(item: unknown, reason: string, now = Date.now()): DeadLetter {
  const raw = clipText(typeof item === 'string' ? item : jsonOf(item), MAX_RAW_CHARS);
  const id = item && typeof item === 'object' ? (item as { event_id?: unknown }).event_id : undefined;
  return {
    event_id: typeof id === 'string' && id !== '' ? clipText(id, 128) : `raw:${hashString(raw).toString(16).padStart(8, '0')}`,
    ts_ms: Math.floor(now),
    reason: clipText(reason, MAX_REASON_CHARS),
    raw,
  };
}
