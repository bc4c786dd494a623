// `kvroute serve --config FILE [--port 8787] [--state FILE]`: the router on Node, tenants from a config file.
import { readFileSync } from 'node:fs';
import { parseFlags, num } from '../util/args.ts';
import { startNodeRouter } from '../node.ts';
import { parsePlainSnapshotInto } from '../tenants/load-config.ts';
import { FileTenantStore } from '../tenants/file-store.ts';
import { MemoryTenantStore } from '../tenants/store.ts';
import { openNodeAnalytics } from './node-analytics-flags.ts';
import { DRAIN_FLAG, DRAIN_HELP, drainMs, shutdownOnSignal } from '../util/signals.ts';

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, {
    config: { type: 'string' },
    state: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    clickhouse: { type: 'string' },
    'no-analytics': { type: 'boolean' },
    ...DRAIN_FLAG,
    help: { type: 'boolean' },
  });
  if (f.help) {
    console.log(
      'usage: kvroute serve [--config FILE] [--state FILE] [--port 8787] [--host 127.0.0.1] [--data-dir .kvroute] [--clickhouse URL] [--no-analytics] [--drain-ms 30000]\n' +
        '  admin token: KVROUTE_ADMIN_TOKEN or "adminToken" in the config file; analytics: ClickHouse (--clickhouse or CLICKHOUSE_URL), else SQLite in --data-dir\n' +
        `  ${DRAIN_HELP}`,
    );
    return 0;
  }
  const graceMs = drainMs(f['drain-ms']);
  const store = f.state ? new FileTenantStore(f.state) : new MemoryTenantStore();
  let adminToken = process.env.KVROUTE_ADMIN_TOKEN;
  if (f.config) adminToken ??= await parsePlainSnapshotInto(store, JSON.parse(readFileSync(f.config, 'utf8')), f.config);
  const analytics = f['no-analytics'] ? undefined : await openNodeAnalytics(f['data-dir'] ?? '.kvroute', f.clickhouse);
  const router = await startNodeRouter({ store, port: num('port', f.port, 8787), host: f.host ?? '127.0.0.1', adminToken, analytics });
  console.log(`kvroute (node) listening on ${router.url}`);
  await shutdownOnSignal(graceMs, async (cut) => {
    await router.close({ graceMs, cut });
    await analytics?.close();
  });
  return 0;
}
