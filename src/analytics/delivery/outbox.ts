// The last resort of event delivery on Workers: events that neither the Queue nor the store took are kept in a
// D1 table and sent to the Queue again once it accepts messages. Without it, a Queue outage during a store outage
// loses events. Rows are keyed by event id, so keeping or resending an event twice stores it once.
import { analyticsEventSchema, type AnalyticsEvent } from '../event.ts';

/** The part of the D1 binding the outbox uses (structural, so core code needs no Workers types). */
export interface OutboxStatementLike {
  bind(...values: unknown[]): OutboxStatementLike;
  all<R = Record<string, unknown>>(): Promise<{ results: R[] }>;
  run(): Promise<unknown>;
}
export interface OutboxDbLike {
  prepare(sql: string): OutboxStatementLike;
  batch(statements: OutboxStatementLike[]): Promise<unknown>;
}

export const OUTBOX_TABLE = 'kvroute_outbox';
const CREATE_SQL = `CREATE TABLE IF NOT EXISTS ${OUTBOX_TABLE} (event_id TEXT PRIMARY KEY, body TEXT NOT NULL, kept_at INTEGER NOT NULL)`;
/** D1 binds at most 100 parameters per statement and caps statements per batch: stay well under both. */
const CHUNK = 50;

export class EventOutbox {
  private created: Promise<unknown> | null = null;
  constructor(private readonly db: OutboxDbLike) {}

  private ready(): Promise<unknown> {
    return (this.created ??= this.db.prepare(CREATE_SQL).run().catch((err: unknown) => {
      this.created = null;
      throw err;
    }));
  }

  /** Keeps the events; rejects if D1 does too. */
  async keep(events: readonly AnalyticsEvent[], now = Date.now()): Promise<void> {
    await this.ready();
    const stmt = this.db.prepare(`INSERT OR IGNORE INTO ${OUTBOX_TABLE} (event_id, body, kept_at) VALUES (?, ?, ?)`);
    for (let i = 0; i < events.length; i += CHUNK) {
      await this.db.batch(events.slice(i, i + CHUNK).map((e) => stmt.bind(e.event_id, JSON.stringify(e), now)));
    }
  }

  /**
   * Hands the oldest `limit` kept events to `resend` and removes them once it resolved. Returns how many were
   * resent (fewer than `limit`: the outbox is empty now). A row that is no longer a valid event is dropped with
   * a log line: it cannot be sent anywhere.
   */
  async drain(resend: (events: AnalyticsEvent[]) => Promise<void>, limit = 500): Promise<number> {
    await this.ready();
    const { results } = await this.db
      .prepare(`SELECT event_id, body FROM ${OUTBOX_TABLE} ORDER BY kept_at LIMIT ?`)
      .bind(limit)
      .all<{ event_id: string; body: string }>();
    if (results.length === 0) return 0;
    const events: AnalyticsEvent[] = [];
    for (const row of results) {
      const parsed = analyticsEventSchema.safeParse(safeJson(row.body));
      if (parsed.success) events.push(parsed.data);
      else console.error(`kvroute analytics: outbox row ${row.event_id} is no valid event; dropped`);
    }
    if (events.length) await resend(events);
    const ids = results.map((r) => r.event_id);
    const statements: OutboxStatementLike[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      statements.push(this.db.prepare(`DELETE FROM ${OUTBOX_TABLE} WHERE event_id IN (${chunk.map(() => '?').join(', ')})`).bind(...chunk));
    }
    await this.db.batch(statements);
    return results.length;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
