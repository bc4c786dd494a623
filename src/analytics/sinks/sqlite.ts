// SQLite sink for Node (better-sqlite3): the embedded default under `npm start`. Synchronous driver, so a batch
// is one transaction; INSERT OR IGNORE on the event_id primary key makes re-sends no-ops.
import { DEAD_LETTER_COLUMNS, type DeadLetter } from '../dead-letter.ts';
import { COLUMNS_BY_TYPE, toRow, type AnalyticsEvent, type EventColumn } from '../event.ts';
import { isColumnAlreadyThere, SQLITE_DEAD_LETTER_SQL, sqliteInsertSql, sqliteMigrations } from '../migrations.ts';
import { classifyStoreErrors, type AnalyticsSink } from '../sink.ts';

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
  const optionalModule: string = 'better-sqlite3'; // typed as string: the package ships no types and loads lazily
  const { default: Database } = (await import(optionalModule)) as { default: new (p: string) => SqliteDatabase & { pragma(s: string): unknown } };
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrateSqlite(db);
  return db;
}

/**
 * True when SQLite (or better-sqlite3's binding) refused the values themselves: a value it cannot bind (an object
 * reads as named parameters: RangeError, TypeError) or a type/size/constraint error. SQLITE_BUSY, SQLITE_IOERR,
 * SQLITE_FULL and the like mean the store is in trouble, not the data: those are retried.
 */
export function sqliteRejectsData(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(MISMATCH|TOOBIG|CONSTRAINT|RANGE)/.test(code);
}

export class SqliteSink implements AnalyticsSink {
  readonly name = 'sqlite';
  private readonly insertMany: (events: readonly AnalyticsEvent[]) => void;
  private readonly insertDeadLetters: (letters: readonly DeadLetter[]) => void;

  constructor(db: SqliteDatabase) {
    migrateSqlite(db);
    // One statement per event type, binding only the columns that type fills (a request event 26 of the 54);
    // SQLite writes the others' defaults, the values toRow gives them.
    const byType = new Map(
      Object.entries(COLUMNS_BY_TYPE).map(([type, columns]) => [type, { stmt: db.prepare(sqliteInsertSql(columns)), columns }] as const),
    );
    const values = (columns: readonly EventColumn[], e: AnalyticsEvent) => {
      const row = toRow(e);
      return columns.map((c) => row[c]);
    };
    this.insertMany = db.transaction((events: readonly AnalyticsEvent[]) => {
      for (const e of events) {
        const insert = byType.get(e.type);
        // A TypeError counts as bad data (sqliteRejectsData): the event is dead-lettered, its batch goes on.
        if (!insert) throw new TypeError(`unknown event type '${String(e.type)}'`);
        insert.stmt.run(values(insert.columns, e));
      }
    });
    const dead = db.prepare(SQLITE_DEAD_LETTER_SQL);
    this.insertDeadLetters = db.transaction((letters: readonly DeadLetter[]) => {
      for (const l of letters) dead.run(...DEAD_LETTER_COLUMNS.map((c) => l[c]));
    });
  }

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    if (events.length) await classifyStoreErrors(this.name, sqliteRejectsData, () => this.insertMany(events));
  }

  async writeDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length) this.insertDeadLetters(letters);
  }
}
