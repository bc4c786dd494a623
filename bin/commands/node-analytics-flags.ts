// Shared by `kvroute serve` and `kvroute start:node`: where the Node runtime keeps its analytics.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeAnalytics, type NodeAnalytics } from '../../src/runtimes/node-analytics.ts';

/** ClickHouse when `clickhouseUrl` (or CLICKHOUSE_URL) is set, else SQLite under `dataDir`; spool under `dataDir`. */
export function openNodeAnalytics(dataDir: string, clickhouseUrl = process.env.CLICKHOUSE_URL): Promise<NodeAnalytics> {
  mkdirSync(dataDir, { recursive: true });
  return createNodeAnalytics({
    sqlitePath: join(dataDir, 'analytics.db'),
    spoolDir: join(dataDir, 'spool'),
    clickhouse: clickhouseUrl ? { url: clickhouseUrl, database: process.env.CLICKHOUSE_DATABASE ?? 'kvroute' } : undefined,
  });
}
