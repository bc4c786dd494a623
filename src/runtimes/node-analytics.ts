// Node wiring in one call: the store (ClickHouse when a URL is given, else SQLite), the durable buffer in front
// of it (replaying the spool left by an earlier process), and a queryable for the report route.
//   const analytics = await createNodeAnalytics({ sqlitePath: '.kvroute/analytics.db', spoolDir: '.kvroute/spool' });
//   platform.emit = (events) => analytics.emit(events);        // per request / per pair, never awaited
//   process.on('SIGTERM', () => analytics.close().then(() => process.exit(0)));
// It never waits for ClickHouse: the migrations run in the background, retried with backoff, so a router
// restarted during a ClickHouse outage serves inference at once. Until they have run, writes fail as
// "unavailable" (the buffer keeps the events in its spool) and the report answers 503.
import type { AnalyticsEvent } from '../analytics/event.ts';
import { NodeEventBuffer, type NodeBufferOptions } from '../analytics/delivery/node-buffer.ts';
import { migrateClickHouse } from '../analytics/migrations.ts';
import { clickhouseQueryable, sqliteQueryable, type Queryable } from '../analytics/queryable.ts';
import { errText, type AnalyticsSink } from '../analytics/sink.ts';
import { ClickHouseSink, createClickHouseClient, type ClickHouseConfig } from '../analytics/sinks/clickhouse.ts';
import { openSqlite, SqliteSink } from '../analytics/sinks/sqlite.ts';
import { RetryUntilDone } from '../util/retry-until-done.ts';

export interface NodeAnalyticsOptions {
  /** Embedded store, used when no ClickHouse is configured (the `npm start` default). */
  sqlitePath: string;
  spoolDir: string;
  clickhouse?: ClickHouseConfig;
  /** Run the (idempotent) ClickHouse migrations at start (default true). */
  migrate?: boolean;
  /** Backoff between migration attempts while ClickHouse is unreachable (defaults 250 ms doubling to 5 s). */
  migrateRetry?: { baseMs?: number; maxMs?: number };
  buffer?: Omit<NodeBufferOptions, 'sink' | 'spoolDir'>;
}

export interface NodeAnalytics {
  sink: AnalyticsSink;
  buffer: NodeEventBuffer;
  queryable: Queryable;
  /** The store is migrated and takes writes (always true for SQLite). */
  ready(): boolean;
  /** Non-blocking, never throws, never drops (see NodeEventBuffer). */
  emit(events: readonly AnalyticsEvent[]): void;
  /** Delivers for up to timeoutMs, spools the rest, closes the store. */
  close(timeoutMs?: number): Promise<void>;
}

/** Thrown by the store while its migrations have not run: delivery retries, the report route answers 503. */
class StoreNotReadyError extends Error {
  constructor(what: string, lastError: unknown) {
    super(`the analytics store is not ready: ${what} could not be migrated yet (${lastError === undefined ? 'first attempt running' : errText(lastError)}); retrying in the background`);
  }
}

/** `sink` and `queryable` that refuse work until `gate` is done. */
function gated(sink: AnalyticsSink, queryable: Queryable, gate: RetryUntilDone, what: string): { sink: AnalyticsSink; queryable: Queryable } {
  const check = () => {
    if (!gate.done) throw new StoreNotReadyError(what, gate.lastError);
  };
  return {
    sink: {
      name: sink.name,
      write: async (events) => (check(), sink.write(events)),
      writeDeadLetters: sink.writeDeadLetters && (async (letters) => (check(), sink.writeDeadLetters!(letters))),
    },
    queryable: { dialect: queryable.dialect, table: queryable.table, rows: async (sql, params) => (check(), queryable.rows(sql, params)) },
  };
}

export async function createNodeAnalytics(opts: NodeAnalyticsOptions): Promise<NodeAnalytics> {
  let sink: AnalyticsSink;
  let queryable: Queryable;
  let closeStore: () => Promise<void>;
  let migration: RetryUntilDone | null = null;
  const log = (msg: string) => console.error(`kvroute analytics: ${msg}`);
  if (opts.clickhouse) {
    const database = opts.clickhouse.database ?? 'default';
    const client = createClickHouseClient(opts.clickhouse);
    const store = new ClickHouseSink(client, database);
    const storeQueryable = clickhouseQueryable(client, database);
    if (opts.migrate !== false) {
      // Without a database: it may not exist yet. A short timeout, so a hung server does not hold the retries.
      const admin = createClickHouseClient({ ...opts.clickhouse, database: 'default', requestTimeoutMs: Math.min(opts.clickhouse.requestTimeoutMs ?? 10_000, 5_000) });
      migration = new RetryUntilDone(() => migrateClickHouse(admin, database), {
        baseMs: opts.migrateRetry?.baseMs ?? 250,
        maxMs: opts.migrateRetry?.maxMs ?? 5_000,
        onError: (err, attempt) => {
          if (attempt === 1 || attempt % 20 === 0) log(`ClickHouse migrations failed (attempt ${attempt}): ${errText(err)}; events wait in the spool, retrying`);
        },
        onDone: (attempts) => {
          if (attempts > 1) log(`ClickHouse migrated after ${attempts} attempts; delivering the spooled events`);
          buffer.retrySoon();
        },
      });
      ({ sink, queryable } = gated(store, storeQueryable, migration, 'ClickHouse'));
      closeStore = () => Promise.all([client.close(), admin.close()]).then(() => {});
    } else {
      sink = store;
      queryable = storeQueryable;
      closeStore = () => client.close();
    }
  } else {
    const db = await openSqlite(opts.sqlitePath);
    sink = new SqliteSink(db);
    queryable = sqliteQueryable(db);
    closeStore = async () => (db as unknown as { close(): void }).close();
  }
  const onError = opts.buffer?.onError ?? ((err: unknown, attempt: number) => {
    if (attempt <= 1 || attempt % 20 === 0) log(`${sink.name} write failed (attempt ${attempt}): ${errText(err)}`);
  });
  const onDeadLetter = opts.buffer?.onDeadLetter ?? ((l) => log(`event ${l.event_id} dead-lettered: ${l.reason}`));
  const buffer = new NodeEventBuffer({ ...opts.buffer, onError, onDeadLetter, sink, spoolDir: opts.spoolDir }).start();
  migration?.start();
  return {
    sink,
    buffer,
    queryable,
    ready: () => migration?.done ?? true,
    emit: (events) => buffer.enqueue(events),
    async close(timeoutMs = 5_000) {
      // The migrations may still complete during the drain (and then the buffer delivers): stop them after it.
      await buffer.close(timeoutMs);
      migration?.stop();
      await closeStore();
    },
  };
}
