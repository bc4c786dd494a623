// ClickHouse sink through the official fetch-based @clickhouse/client-web (runs on Workers and Node).
// Inserts JSONEachRow; idempotency comes from the ReplacingMergeTree table (see migrations.ts).
import { createClient, type ClickHouseClient as WebClickHouseClient } from '@clickhouse/client-web';
import { toRow, type AnalyticsEvent } from '../event.ts';
import { EVENTS_TABLE, chIdent } from '../migrations.ts';
import type { AnalyticsSink } from '../sink.ts';

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

export class ClickHouseSink implements AnalyticsSink {
  readonly name = 'clickhouse';
  private readonly table: string;

  constructor(private readonly client: Pick<WebClickHouseClient, 'insert'>, database = 'default') {
    this.table = `${chIdent(database)}.${EVENTS_TABLE}`;
  }

  async write(events: readonly AnalyticsEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.client.insert({ table: this.table, values: events.map(toRow), format: 'JSONEachRow' });
  }
}
