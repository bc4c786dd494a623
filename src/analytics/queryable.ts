// Reading the analytics store: one Queryable over ClickHouse, SQLite or D1 (the same events table, two SQL
// dialects), and the small helpers reports share. The reports themselves live with their concept (the experiment
// report in src/experiments/report.ts, the cache report in cache-report.ts).
import { EVENTS_TABLE, chIdent } from './migrations.ts';

export type Dialect = 'clickhouse' | 'sqlite';

/** Values bound to a query's placeholders, by name (see Conditions). */
export type QueryParams = Readonly<Record<string, string | number>>;

/** Something that runs a SELECT and returns rows as objects. */
export interface Queryable {
  readonly dialect: Dialect;
  /**
   * Runs `sql` with `params` bound, never spliced into the text: ClickHouse placeholders are `{name:Type}`; SQLite
   * and D1 placeholders are `?`, bound in the order of `params`' keys (Conditions writes them in that order).
   */
  rows(sql: string, params?: QueryParams): Promise<Record<string, unknown>[]>;
  /** Table reference, e.g. `analytics`.kvroute_events (ClickHouse) or kvroute_events (SQLite). */
  readonly table: string;
}

/**
 * A WHERE clause whose values are bound parameters. Each value gets a placeholder (`{p0:String}` on ClickHouse,
 * `?` on SQLite / D1) and an entry in `params`, in the order the placeholders appear. A query must contain the
 * clause once (SQLite binds `?` by position).
 */
export class Conditions {
  private readonly parts: string[] = [];
  private readonly values: Record<string, string | number> = {};
  private n = 0;

  constructor(readonly dialect: Dialect) {}

  /** A condition without values (column names and constants written by the caller, never user input). */
  fixed(sql: string): this {
    this.parts.push(sql);
    return this;
  }

  /** `column = value` for a string value. */
  equals(column: string, value: string): this {
    this.parts.push(`${column} = ${this.bind(value, 'String')}`);
    return this;
  }

  /** `column >= value` for an integer value. */
  atLeast(column: string, value: number): this {
    this.parts.push(`${column} >= ${this.bind(Math.floor(value), 'Int64')}`);
    return this;
  }

  get sql(): string {
    return this.parts.join(' AND ') || '1 = 1';
  }

  get params(): QueryParams {
    return this.values;
  }

  private bind(value: string | number, chType: 'String' | 'Int64'): string {
    const name = `p${this.n++}`;
    this.values[name] = value;
    return this.dialect === 'clickhouse' ? `{${name}:${chType}}` : '?';
  }
}

interface ClickHouseQueryClient {
  query(p: { query: string; format: 'JSONEachRow'; query_params?: Record<string, unknown> }): Promise<{ json<T>(): Promise<T[]> }>;
}

export function clickhouseQueryable(client: ClickHouseQueryClient, database = 'default'): Queryable {
  let bindsParams: Promise<boolean> | undefined;
  return {
    dialect: 'clickhouse',
    table: `${chIdent(database)}.${EVENTS_TABLE}`,
    async rows(sql, params = {}) {
      const bound = Object.keys(params).length === 0 || (await (bindsParams ??= serverBindsParams(client)));
      const rs = await client.query(bound ? { query: sql, format: 'JSONEachRow', query_params: { ...params } } : { query: inlineParams(sql, params), format: 'JSONEachRow' });
      return rs.json<Record<string, unknown>>();
    },
  };
}

/**
 * Whether the server takes query parameters (ClickHouse 19.x on; not 18.16, Debian 12's version, which answers
 * "Unknown setting param_..."). Asked once per queryable; a failure for any other reason is not remembered.
 */
async function serverBindsParams(client: ClickHouseQueryClient): Promise<boolean> {
  try {
    await (await client.query({ query: 'SELECT {probe:UInt8} AS probe', format: 'JSONEachRow', query_params: { probe: 1 } })).json();
    return true;
  } catch (err) {
    if (/Unknown setting param_probe/.test(String((err as Error).message))) return false;
    throw err;
  }
}

/**
 * Only for servers without query parameters: each `{name:Type}` placeholder becomes a literal in ClickHouse's
 * escaping (backslash, quote and NUL escaped; numbers written as numbers). The one place values enter SQL text.
 */
function inlineParams(sql: string, params: QueryParams): string {
  return sql.replace(/\{(\w+):(\w+)\}/g, (whole, name: string) => {
    if (!Object.hasOwn(params, name)) return whole;
    const v = params[name]!;
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
    return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\0/g, '\\0')}'`;
  });
}

export function sqliteQueryable(db: { prepare(sql: string): { all(...p: unknown[]): unknown[] } }): Queryable {
  return { dialect: 'sqlite', table: EVENTS_TABLE, rows: async (sql, params = {}) => db.prepare(sql).all(...Object.values(params)) as Record<string, unknown>[] };
}

export function d1Queryable(db: { prepare(sql: string): { bind(...values: unknown[]): { all(): Promise<{ results: unknown[] }> } } }): Queryable {
  return {
    dialect: 'sqlite',
    table: EVENTS_TABLE,
    rows: async (sql, params = {}) => (await db.prepare(sql).bind(...Object.values(params)).all()).results as Record<string, unknown>[],
  };
}

export const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : v === null || v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : 0;
};

export const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);
