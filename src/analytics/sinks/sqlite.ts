// SQLite sink for Node (better-sqlite3): the embedded default under `npm start`. Synchronous driver, so a batch
// is one transaction; INSERT OR IGNORE on the event_id primary key makes re-sends no-ops.
import { EVENT_COLUMNS, toRow, type AnalyticsEvent } from '../event.ts';
import { isColumnAlreadyThere, SQLITE_INSERT_SQL, sqliteMigrations } from '../migrations.ts';
import type { AnalyticsSink } from '../sink.ts';

/** The part of a better-sqlite3 Database used here (structural: the package ships no types). */
export interface SqliteDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
}

/** Creates the table and indexes if missing and adds columns an older table lacks. */
export function migrateSqlite(db: Pick<SqliteDatabase, 'exec'>): void {
  for (const sql of sqliteMigrations()) {
    try {
      db.exec(sql);
    } catch (err) {
      if (!isColumnAlreadyThere(sql, err)) throw err;
    }
  }
}

/** Opens (or creates) a SQLite file with WAL journaling, migrated. Node only: loads better-sqlite3 lazily. */
export async function openSqlite(path: string): Promise<SqliteDatabase> {
  const { default: Database } = (await import('better-sqlite3' as string)) as { default: new (p: string) => SqliteDatabase & { pragma(s: string): unknown } };
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrateSqlite(db);
  return db;
}

export class SqliteSink implements AnalyticsSink {
  readonly name = 'sqlite';
  private readonly insertMany: (events: readonly AnalyticsEvent[]) => void;

  constructor(db: SqliteDatabase) {
    migrateSqlite(db);
    const stmt = db.prepare(SQLITE_INSERT_SQL);
    this.insertMany = db.transaction((events: readonly AnalyticsEvent[]) => {
      for (const e of events) {
        const row = toRow(e);
        stmt.run(...EVENT_COLUMNS.map((c) => row[c]));
      }
    });
  }

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    if (events.length) this.insertMany(events);
  }
}
