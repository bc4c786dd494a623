// Table definitions for the one event table, in ClickHouse and SQLite (D1 is SQLite). Running the migrations
// again is a no-op: CREATE ... IF NOT EXISTS, then one ALTER TABLE ... ADD COLUMN per column added after v1 (see
// ADDED_COLUMNS) whose only possible failure, "column already exists", the runners ignore. Neither ClickHouse
// 18.16 nor SQLite accepts ADD COLUMN IF NOT EXISTS (checked against 18.16.1), hence the tolerated error.
// Schema changes are additive only: new columns get defaults, so old rows and old writers stay valid.
//
// ClickHouse: ReplacingMergeTree ordered by (tenant, experiment, type, event_id). A re-sent event (same
// event_id, same content, hence same sort key) collapses on merge; queries that must count exactly use FINAL
// (all report queries do). Works on ClickHouse 18.16 (Debian 12), which has neither insert_deduplication_token
// nor query parameters nor LowCardinality by default.
// SQLite/D1: event_id is the primary key and inserts are INSERT OR IGNORE.
//
// The dead-letter table (dead-letter.ts) sits beside it, keyed by event_id the same way: one row per refused event.
import { DEAD_LETTER_COLUMNS, DEAD_LETTERS_TABLE } from './dead-letter.ts';
import { EVENT_COLUMNS, type EventColumn } from './event.ts';
import { errText } from './sink.ts';

export const EVENTS_TABLE = 'kvroute_events';

type ColumnType = 'str' | 'u8' | 'u16' | 'u32' | 'u64' | 'f64?' | 'u8?';

const TYPES: Record<EventColumn, ColumnType> = {
  event_id: 'str', type: 'str', ts_ms: 'u64', tenant: 'str', request_id: 'str', correlation_id: 'str', model: 'str',
  experiment: 'str', arm: 'str', stream: 'u8', pool: 'str', backend: 'str', upstream_model: 'str', status: 'u16',
  error_class: 'str', error_message: 'str', ttft_ms: 'f64?', latency_ms: 'f64?', prompt_tokens: 'u32',
  completion_tokens: 'u32', cached_tokens: 'u32', finish_reason: 'str', decision: 'str', router_overhead_ms: 'f64?',
  shadowed: 'u8', pair_kind: 'str', cand_pool: 'str', cand_backend: 'str', cand_upstream_model: 'str',
  cand_status: 'u16', cand_error_class: 'str', cand_error_message: 'str', cand_ttft_ms: 'f64?',
  cand_latency_ms: 'f64?', cand_prompt_tokens: 'u32', cand_completion_tokens: 'u32', cand_cached_tokens: 'u32',
  cand_finish_reason: 'str', exact_match: 'u8?', similarity: 'f64?', length_ratio: 'f64?', finish_agree: 'u8?',
  comparable: 'u8?', schema_version: 'u16',
  drift_feature: 'str', drift_window: 'str', drift_window_start_ms: 'u64', drift_status: 'str', drift_previous: 'str',
  drift_psi: 'f64?', drift_crit: 'f64?', drift_n: 'u32', drift_m: 'u32', drift_baseline: 'str',
};

/** Columns added after the table first shipped (v1 ended at schema_version), in EVENT_COLUMNS order. */
export const ADDED_COLUMNS: readonly EventColumn[] = EVENT_COLUMNS.slice(EVENT_COLUMNS.indexOf('schema_version') + 1);

/** True when an ALTER ... ADD COLUMN failed only because the column is there already (the idempotent case). */
export function isColumnAlreadyThere(sql: string, err: unknown): boolean {
  return /\bADD COLUMN\b/.test(sql) && /duplicate column name|already exists/i.test(errText(err));
}

const CH_TYPE: Record<ColumnType, string> = {
  str: 'String', u8: 'UInt8', u16: 'UInt16', u32: 'UInt32', u64: 'UInt64', 'f64?': 'Nullable(Float64)', 'u8?': 'Nullable(UInt8)',
};
const SQLITE_TYPE: Record<ColumnType, string> = {
  str: "TEXT NOT NULL DEFAULT ''", u8: 'INTEGER NOT NULL DEFAULT 0', u16: 'INTEGER NOT NULL DEFAULT 0', u32: 'INTEGER NOT NULL DEFAULT 0',
  u64: 'INTEGER NOT NULL DEFAULT 0', 'f64?': 'REAL', 'u8?': 'INTEGER',
};

/** Quotes a ClickHouse identifier (database or table name). */
export function chIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse identifier '${name}'`);
  return `\`${name}\``;
}

export function clickhouseMigrations(database: string): string[] {
  const db = chIdent(database);
  const cols = EVENT_COLUMNS.map((c) => `  ${c} ${CH_TYPE[TYPES[c]]}`).join(',\n');
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${EVENTS_TABLE} (
${cols},
  ts DateTime MATERIALIZED toDateTime(intDiv(ts_ms, 1000))
) ENGINE = ReplacingMergeTree(ts_ms)
PARTITION BY toYYYYMM(toDateTime(intDiv(ts_ms, 1000)))
ORDER BY (tenant, experiment, type, event_id)`,
    // AFTER keeps an upgraded table's column order equal to a fresh one (the materialized ts stays last).
    ...ADDED_COLUMNS.map((c) => `ALTER TABLE ${db}.${EVENTS_TABLE} ADD COLUMN ${c} ${CH_TYPE[TYPES[c]]} AFTER ${EVENT_COLUMNS[EVENT_COLUMNS.indexOf(c) - 1]}`),
    `CREATE TABLE IF NOT EXISTS ${db}.${DEAD_LETTERS_TABLE} (
  event_id String,
  ts_ms UInt64,
  reason String,
  raw String
) ENGINE = ReplacingMergeTree(ts_ms)
PARTITION BY toYYYYMM(toDateTime(intDiv(ts_ms, 1000)))
ORDER BY event_id`,
  ];
}

export function sqliteMigrations(): string[] {
  const cols = EVENT_COLUMNS.map((c) => (c === 'event_id' ? '  event_id TEXT PRIMARY KEY' : `  ${c} ${SQLITE_TYPE[TYPES[c]]}`)).join(',\n');
  return [
    `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (\n${cols}\n)`,
    `CREATE INDEX IF NOT EXISTS ${EVENTS_TABLE}_experiment ON ${EVENTS_TABLE} (tenant, experiment, type, ts_ms)`,
    `CREATE INDEX IF NOT EXISTS ${EVENTS_TABLE}_correlation ON ${EVENTS_TABLE} (correlation_id)`,
    // SQLite appends; every added column is nullable or has a default, so existing rows read back ''/0/NULL.
    ...ADDED_COLUMNS.map((c) => `ALTER TABLE ${EVENTS_TABLE} ADD COLUMN ${c} ${SQLITE_TYPE[TYPES[c]]}`),
    `CREATE TABLE IF NOT EXISTS ${DEAD_LETTERS_TABLE} (
  event_id TEXT PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL
)`,
  ];
}

/** Parameterised insert for SQLite and D1 of the given columns (the others take their defaults). */
export function sqliteInsertSql(columns: readonly EventColumn[]): string {
  return `INSERT OR IGNORE INTO ${EVENTS_TABLE} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/** The insert of every column, in EVENT_COLUMNS order. */
export const SQLITE_INSERT_SQL = sqliteInsertSql(EVENT_COLUMNS);

/** The same for dead letters, columns in DEAD_LETTER_COLUMNS order. */
export const SQLITE_DEAD_LETTER_SQL = `INSERT OR IGNORE INTO ${DEAD_LETTERS_TABLE} (${DEAD_LETTER_COLUMNS.join(', ')}) VALUES (${DEAD_LETTER_COLUMNS.map(() => '?').join(', ')})`;

/** Minimal client surface the ClickHouse migration needs (an @clickhouse/client-web client satisfies it). */
export interface ClickHouseCommander {
  command(params: { query: string }): Promise<unknown>;
}

export async function migrateClickHouse(client: ClickHouseCommander, database: string): Promise<string[]> {
  const statements = clickhouseMigrations(database);
  for (const query of statements) {
    try {
      await client.command({ query });
    } catch (err) {
      if (!isColumnAlreadyThere(query, err)) throw err;
    }
  }
  return statements;
}
