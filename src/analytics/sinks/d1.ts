// D1 sink for Workers: the same SQLite table and INSERT OR IGNORE, through the D1 binding. A batch is one D1
// batch() call, which D1 runs as a single transaction.
import { EVENT_COLUMNS, toRow, type AnalyticsEvent } from '../event.ts';
import { isColumnAlreadyThere, SQLITE_INSERT_SQL, sqliteMigrations } from '../migrations.ts';
import type { AnalyticsSink } from '../sink.ts';

/** The part of the D1Database binding this sink uses (structural, so core code needs no Workers types). */
export interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): unknown };
  batch(statements: unknown[]): Promise<unknown>;
  exec(sql: string): Promise<unknown>;
}

/** Creates the table and indexes if missing and adds columns an older table lacks (D1 exec takes one statement
 *  per line, so collapse newlines). */
export async function migrateD1(db: D1Like): Promise<void> {
  for (const sql of sqliteMigrations()) {
    try {
      await db.exec(sql.replace(/\s*\n\s*/g, ' '));
    } catch (err) {
      if (!isColumnAlreadyThere(sql, err)) throw err;
    }
  }
}

/** D1 caps statements per batch; stay well under it. */
const D1_BATCH = 50;

export class D1Sink implements AnalyticsSink {
  readonly name = 'd1';
  constructor(private readonly db: D1Like) {}

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    const stmt = this.db.prepare(SQLITE_INSERT_SQL);
    for (let i = 0; i < events.length; i += D1_BATCH) {
      const chunk = events.slice(i, i + D1_BATCH).map((e) => {
        const row = toRow(e);
        return (stmt as { bind(...v: unknown[]): unknown }).bind(...EVENT_COLUMNS.map((c) => row[c]));
      });
      await this.db.batch(chunk);
    }
  }
}
