// Reading the analytics store: one Queryable over ClickHouse, SQLite or D1 (the same events table, two SQL
// dialects), and the small helpers reports share. The reports themselves live with their concept (the experiment
// report in src/experiments/report.ts, the cache report in cache-report.ts).
import { EVENTS_TABLE, chIdent } from './migrations.ts';

export type Dialect = 'clickhouse' | 'sqlite';

/** Something that runs a SELECT and returns rows as objects. */
export interface Queryable {
  readonly dialect: Dialect;
  rows(sql: string): Promise<Record<string, unknown>[]>;
  /** Table reference, e.g. `analytics`.kvroute_events (ClickHouse) or kvroute_events (SQLite). */
  readonly table: string;
}

export function clickhouseQueryable(
  client: { query(p: { query: string; format: 'JSONEachRow' }): Promise<{ json<T>(): Promise<T[]> }> },
  database = 'default',
): Queryable {
  return {
    dialect: 'clickhouse',
    table: `${chIdent(database)}.${EVENTS_TABLE}`,
    async rows(sql) {
      const rs = await client.query({ query: sql, format: 'JSONEachRow' });
      return rs.json<Record<string, unknown>>();
    },
  };
}

export function sqliteQueryable(db: { prepare(sql: string): { all(...p: unknown[]): unknown[] } }): Queryable {
  return { dialect: 'sqlite', table: EVENTS_TABLE, rows: async (sql) => db.prepare(sql).all() as Record<string, unknown>[] };
}

export function d1Queryable(db: { prepare(sql: string): { all(): Promise<{ results: unknown[] }> } }): Queryable {
  return { dialect: 'sqlite', table: EVENTS_TABLE, rows: async (sql) => (await db.prepare(sql).all()).results as Record<string, unknown>[] };
}

/** String literal for either dialect (ClickHouse 18.16 has no query parameters). */
export function sqlString(dialect: Dialect, s: string): string {
  return dialect === 'clickhouse' ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : `'${s.replace(/'/g, "''")}'`;
}

export const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : v === null || v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : 0;
};

export const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);
