// Builds the Workers-side sinks from bindings. The Queue consumer writes to D1 (always, when bound) and to
// ClickHouse (when CLICKHOUSE_URL is set); WAE is written from the request path, not here (not idempotent).
import { FanoutSink, type AnalyticsSink } from '../analytics/sink.ts';
import { ClickHouseSink, createClickHouseClient } from '../analytics/sinks/clickhouse.ts';
import { D1Sink, migrateD1, type D1Like } from '../analytics/sinks/d1.ts';

export interface AnalyticsEnv {
  /** [[d1_databases]] binding = "ANALYTICS_DB" */
  ANALYTICS_DB?: D1Like;
  /** [vars] or a secret: ClickHouse HTTP URL, e.g. https://host:8443 */
  CLICKHOUSE_URL?: string;
  CLICKHOUSE_DATABASE?: string;
  CLICKHOUSE_USER?: string;
  /** Secret (wrangler secret put CLICKHOUSE_PASSWORD). */
  CLICKHOUSE_PASSWORD?: string;
}

const migrated = new WeakSet<object>();
const built = new WeakMap<object, AnalyticsSink>();

/** The consumer's sink, built once per env object (isolate). Migrates D1 once (CREATE ... IF NOT EXISTS). */
export function workerSinkFromEnv(env: AnalyticsEnv): AnalyticsSink {
  let sink = built.get(env);
  if (!sink) built.set(env, (sink = buildSink(env)));
  return sink;
}

function buildSink(env: AnalyticsEnv): AnalyticsSink {
  const sinks: AnalyticsSink[] = [];
  const db = env.ANALYTICS_DB;
  if (db) {
    const d1 = new D1Sink(db);
    const ready = async () => {
      if (migrated.has(db)) return;
      await migrateD1(db);
      migrated.add(db);
    };
    sinks.push({
      name: d1.name,
      write: async (events) => (await ready(), d1.write(events)),
      writeDeadLetters: async (letters) => (await ready(), d1.writeDeadLetters(letters)),
    });
  }
  if (env.CLICKHOUSE_URL) {
    const database = env.CLICKHOUSE_DATABASE ?? 'default';
    const client = createClickHouseClient({ url: env.CLICKHOUSE_URL, database, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD });
    sinks.push(new ClickHouseSink(client, database));
  }
  if (sinks.length === 0) throw new Error('no analytics sink configured: bind ANALYTICS_DB (D1) or set CLICKHOUSE_URL');
  return sinks.length === 1 ? sinks[0]! : new FanoutSink(sinks);
}
