// Node wiring in one call: the store (ClickHouse when a URL is given, else SQLite), the durable buffer in front
// of it (replaying the spool left by an earlier process), and a queryable for the report route.
//   const analytics = await createNodeAnalytics({ sqlitePath: '.kvroute/analytics.db', spoolDir: '.kvroute/spool' });
//   platform.emit = (events) => analytics.emit(events);        // per request / per pair, never awaited
//   process.on('SIGTERM', () => analytics.close().then(() => process.exit(0)));
import type { AnalyticsEvent } from './event.ts';
import { NodeEventBuffer, type NodeBufferOptions } from './delivery/node-buffer.ts';
import { migrateClickHouse } from './migrations.ts';
import { clickhouseQueryable, sqliteQueryable, type Queryable } from './report.ts';
import type { AnalyticsSink } from './sink.ts';
import { ClickHouseSink, createClickHouseClient, type ClickHouseConfig } from './sinks/clickhouse.ts';
import { openSqlite, SqliteSink } from './sinks/sqlite.ts';

export interface NodeAnalyticsOptions {
  /** Embedded store, used when no ClickHouse is configured (the `npm start` default). */
  sqlitePath: string;
  spoolDir: string;
  clickhouse?: ClickHouseConfig;
  /** Run the (idempotent) ClickHouse migrations at start (default true). */
  migrate?: boolean;
  buffer?: Omit<NodeBufferOptions, 'sink' | 'spoolDir'>;
}

export interface NodeAnalytics {
  sink: AnalyticsSink;
  buffer: NodeEventBuffer;
  queryable: Queryable;
  /** Non-blocking, never throws, never drops (see NodeEventBuffer). */
  emit(events: readonly AnalyticsEvent[]): void;
  /** Delivers for up to timeoutMs, spools the rest, closes the store. */
  close(timeoutMs?: number): Promise<void>;
}

export async function createNodeAnalytics(opts: NodeAnalyticsOptions): Promise<NodeAnalytics> {
  let sink: AnalyticsSink;
  let queryable: Queryable;
  let closeStore: () => Promise<void>;
  if (opts.clickhouse) {
    const database = opts.clickhouse.database ?? 'default';
    const client = createClickHouseClient(opts.clickhouse);
    if (opts.migrate !== false) await migrateClickHouse(createClickHouseClient({ ...opts.clickhouse, database: 'default' }), database);
    sink = new ClickHouseSink(client, database);
    queryable = clickhouseQueryable(client, database);
    closeStore = () => client.close();
  } else {
    const db = await openSqlite(opts.sqlitePath);
    sink = new SqliteSink(db);
    queryable = sqliteQueryable(db);
    closeStore = async () => (db as unknown as { close(): void }).close();
  }
  const onError = opts.buffer?.onError ?? ((err: unknown, attempt: number) => {
    if (attempt === 1 || attempt % 20 === 0) console.error(`kvroute analytics: ${sink.name} write failed (attempt ${attempt}): ${err instanceof Error ? err.message : err}`);
  });
  const buffer = new NodeEventBuffer({ ...opts.buffer, onError, sink, spoolDir: opts.spoolDir }).start();
  return {
    sink,
    buffer,
    queryable,
    emit: (events) => buffer.enqueue(events),
    async close(timeoutMs = 5_000) {
      await buffer.close(timeoutMs);
      await closeStore();
    },
  };
}
