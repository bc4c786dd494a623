// D1 sink for Workers: the same SQLite table and INSERT OR IGNORE, through the D1 binding. A batch is one D1
// batch() call, which D1 runs as a single transaction.
import { DEAD_LETTER_COLUMNS, type DeadLetter } from '../dead-letter.ts';
import { EVENT_COLUMNS, toRow, type AnalyticsEvent } from '../event.ts';
import { isColumnAlreadyThere, SQLITE_DEAD_LETTER_SQL, SQLITE_INSERT_SQL, sqliteMigrations } from '../migrations.ts';
import { classifyStoreErrors, errText, type AnalyticsSink } from '../sink.ts';

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

/** D1 refused the values (D1_TYPE_ERROR for a value it cannot bind, SQLite type/size/constraint errors). */
export function d1RejectsData(err: unknown): boolean {
  return /D1_TYPE_ERROR|SQLITE_(MISMATCH|TOOBIG|CONSTRAINT|RANGE)|not supported for value/i.test(errText(err));
}

/** D1 caps statements per batch; stay well under it. */
const D1_BATCH = 50;

export class D1Sink implements AnalyticsSink {
  readonly name = 'd1';
  constructor(private readonly db: D1Like) {}

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    await classifyStoreErrors(this.name, d1RejectsData, () => this.insert(SQLITE_INSERT_SQL, events.map(toRow), EVENT_COLUMNS));
  }

  async writeDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    await this.insert(SQLITE_DEAD_LETTER_SQL, letters, DEAD_LETTER_COLUMNS);
  }

  private async insert<R>(sql: string, rows: readonly R[], columns: readonly (keyof R)[]): Promise<void> {
    if (rows.length === 0) return;
    const stmt = this.db.prepare(sql);
    for (let i = 0; i < rows.length; i += D1_BATCH) {
      await this.db.batch(rows.slice(i, i + D1_BATCH).map((row) => stmt.bind(...columns.map((c) => row[c]))));
    }
  }
}
