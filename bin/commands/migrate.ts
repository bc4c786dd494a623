// `npx kvroute migrate --clickhouse URL [--database D] [--user U] [--password P]`: creates the analytics
// database and table in ClickHouse. Idempotent: CREATE ... IF NOT EXISTS, then ADD COLUMN for columns an older
// table lacks (see src/analytics/migrations.ts).
// `--sqlite FILE` does the same for the embedded SQLite store.
import { parseFlags } from '../../src/util/args.ts';
import { EVENTS_TABLE, migrateClickHouse } from '../../src/analytics/migrations.ts';
import { createClickHouseClient } from '../../src/analytics/sinks/clickhouse.ts';
import { openSqlite } from '../../src/analytics/sinks/sqlite.ts';

const HELP = `usage: kvroute migrate --clickhouse URL [--database D] [--user U] [--password P]
       kvroute migrate --sqlite FILE

Creates the analytics table (${EVENTS_TABLE}). Safe to run again.
  --clickhouse URL   ClickHouse HTTP interface, e.g. http://127.0.0.1:8123 (or env CLICKHOUSE_URL)
  --database D       database to create and use (default: default, or env CLICKHOUSE_DATABASE)
  --user U           (default: default, or env CLICKHOUSE_USER)
  --password P       (default: empty, or env CLICKHOUSE_PASSWORD)
  --sqlite FILE      SQLite file for the embedded store (created if missing)`;

export async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    clickhouse: { type: 'string' },
    database: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    sqlite: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const url = flags.clickhouse ?? (flags.sqlite ? undefined : process.env.CLICKHOUSE_URL);
  if (!url && !flags.sqlite) {
    console.error(`kvroute migrate: give --clickhouse URL or --sqlite FILE\n\n${HELP}`);
    return 2;
  }
  if (flags.sqlite) {
    await openSqlite(flags.sqlite);
    console.log(`sqlite ${flags.sqlite}: ${EVENTS_TABLE} ready`);
  }
  if (url) {
    const database = flags.database ?? process.env.CLICKHOUSE_DATABASE ?? 'default';
    // Connect without a database first: the target database may not exist yet.
    const client = createClickHouseClient({
      url,
      database: 'default',
      username: flags.user ?? process.env.CLICKHOUSE_USER,
      password: flags.password ?? process.env.CLICKHOUSE_PASSWORD,
    });
    try {
      const statements = await migrateClickHouse(client, database);
      console.log(`clickhouse ${url}: ${statements.length} statements applied, ${database}.${EVENTS_TABLE} ready`);
    } finally {
      await client.close();
    }
  }
  return 0;
}
