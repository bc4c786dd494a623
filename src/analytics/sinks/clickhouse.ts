// ClickHouse sink through the official fetch-based @clickhouse/client-web (runs on Workers and Node).
// Inserts JSONEachRow; idempotency comes from the ReplacingMergeTree table (see migrations.ts).
import { createClient, type ClickHouseClient as WebClickHouseClient } from '@clickhouse/client-web';
import { DEAD_LETTERS_TABLE, type DeadLetter } from '../dead-letter.ts';
import { toRow, type AnalyticsEvent } from '../event.ts';
import { EVENTS_TABLE, chIdent } from '../migrations.ts';
import { classifyStoreErrors, type AnalyticsSink } from '../sink.ts';

export interface ClickHouseConfig {
  url: string;
  database?: string;
  username?: string;
  password?: string;
  /** Per request; a down server fails fast (connection refused), a hung one after this. */
  requestTimeoutMs?: number;
  /**
   * Server-side batching (`async_insert=1`, ClickHouse >= 21.11) for many small inserts from Workers. Leave off
   * for older servers: 18.16 rejects unknown settings.
   */
  asyncInsert?: boolean;
}

export function createClickHouseClient(cfg: ClickHouseConfig): WebClickHouseClient {
  return createClient({
    url: cfg.url,
    database: cfg.database ?? 'default',
    username: cfg.username ?? 'default',
    password: cfg.password ?? '',
    request_timeout: cfg.requestTimeoutMs ?? 10_000,
    clickhouse_settings: cfg.asyncInsert ? { async_insert: 1, wait_for_async_insert: 1 } : {},
  });
}

/**
 * ClickHouse error codes that mean "these rows are bad" (the insert can never succeed as sent), as opposed to an
 * unreachable, overloaded or not yet migrated server: CANNOT_PARSE_TEXT (6), CANNOT_PARSE_ESCAPE_SEQUENCE (25),
 * CANNOT_PARSE_QUOTED_STRING (26), CANNOT_PARSE_INPUT_ASSERTION_FAILED (27), CANNOT_PARSE_DATE (38),
 * CANNOT_PARSE_DATETIME (41), TYPE_MISMATCH (53), ARGUMENT_OUT_OF_BOUND (69), CANNOT_CONVERT_TYPE (70),
 * CANNOT_PARSE_NUMBER (72), INCORRECT_DATA (117), TOO_LARGE_STRING_SIZE (131), CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
 * (349), CANNOT_PARSE_UUID (376), CANNOT_PARSE_BOOL (467). Newer servers answer these with HTTP 400.
 */
const DATA_ERROR_CODES = new Set([6, 25, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 349, 376, 467]);

/** True when ClickHouse refused the rows themselves. The code is parsed from the message too: 18.x formats its
 *  errors in a way @clickhouse/client does not parse ("Code: 72, e.displayText() = ..."). */
export function clickhouseRejectsData(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = Number((err as { code?: unknown }).code ?? /^\s*Code: (\d+)[.,]/.exec(err.message)?.[1]);
  return DATA_ERROR_CODES.has(code);
}

export class ClickHouseSink implements AnalyticsSink {
  readonly name = 'clickhouse';
  private readonly table: string;
  private readonly deadLetters: string;

  constructor(private readonly client: Pick<WebClickHouseClient, 'insert'>, database = 'default') {
    this.table = `${chIdent(database)}.${EVENTS_TABLE}`;
    this.deadLetters = `${chIdent(database)}.${DEAD_LETTERS_TABLE}`;
  }

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    if (events.length === 0) return;
    await classifyStoreErrors(this.name, clickhouseRejectsData, () => this.client.insert({ table: this.table, values: events.map(toRow), format: 'JSONEachRow' }));
  }

  async writeDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.client.insert({ table: this.deadLetters, values: [...letters], format: 'JSONEachRow' });
  }
}
