// `kvroute serve --config FILE [--port 8787] [--state FILE]`: the router on Node, tenants from a config file.
import { readFileSync } from 'node:fs';
import { parseFlags, num } from '../../src/util/args.ts';
import { startNodeRouter } from '../../routes/node.ts';
import { adminTokenProblem, isLocalDev } from '../../src/config/deployment.ts';
import { routersSchema } from '../../src/config/affinity.ts';
import { loadSnapshotInto } from '../../src/tenants/load-config.ts';
import { parseSnapshot } from '../../src/tenants/snapshot.ts';
import { FileTenantStore } from '../../src/tenants/file-store.ts';
import { MemoryTenantStore } from '../../src/tenants/store.ts';
import { openNodeAnalytics } from './node-analytics-flags.ts';
import { DRAIN_FLAG, DRAIN_HELP, drainMs, shutdownOnSignal } from '../../src/util/signals.ts';

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, {
    config: { type: 'string' },
    state: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    clickhouse: { type: 'string' },
    'no-analytics': { type: 'boolean' },
    routers: { type: 'string', default: 'one' },
    ...DRAIN_FLAG,
    help: { type: 'boolean' },
  });
  if (f.help) {
    console.log(
      'usage: kvroute serve [--config FILE] [--state FILE] [--port 8787] [--host 127.0.0.1] [--data-dir .kvroute] [--clickhouse URL] [--no-analytics] [--routers one|many] [--drain-ms 30000]\n' +
        '  admin token: KVROUTE_ADMIN_TOKEN, else "adminToken" in the config file: at least 32 random characters; without one\n' +
        '  only a read-only --config (no --state) serves, with the admin API closed. KVROUTE_LOCAL_DEV=1: local development\n' +
        '  (any token, loopback backends). Analytics: ClickHouse (--clickhouse or CLICKHOUSE_URL), else SQLite in --data-dir\n' +
        '  --routers: "one" (default) when this process is the only router in front of its backends; "many" when several\n' +
        '  replicas share the traffic behind a balancer (prefix-affinity then places as many edge routers do)\n' +
        `  ${DRAIN_HELP}`,
    );
    return 0;
  }
  const graceMs = drainMs(f['drain-ms']);
  const routers = routersSchema.safeParse(f.routers);
  if (!routers.success) {
    console.error(`kvroute serve: --routers must be "one" or "many", not ${JSON.stringify(f.routers)}`);
    return 1;
  }
  const localDev = isLocalDev(process.env);
  const port = num('port', f.port, 8787);
  const host = f.host ?? '127.0.0.1';
  // The config file is always loaded; the environment's token, when set, takes precedence over the file's.
  const snap = f.config ? parseSnapshot(JSON.parse(readFileSync(f.config, 'utf8')), f.config, { localDev, self: [{ host, port }] }) : undefined;
  const adminToken = process.env.KVROUTE_ADMIN_TOKEN || snap?.adminToken;
  const problem = adminTokenProblem({ token: adminToken, localDev, readOnly: Boolean(f.config) && !f.state });
  if (problem) {
    console.error(`kvroute serve: refusing to start. ${problem}`);
    return 1;
  }
  const store = f.state ? new FileTenantStore(f.state) : new MemoryTenantStore();
  if (snap) await loadSnapshotInto(store, snap);
  const analytics = f['no-analytics'] ? undefined : await openNodeAnalytics(f['data-dir'] ?? '.kvroute', f.clickhouse);
  const router = await startNodeRouter({ store, port, host, adminToken, localDev, analytics, routers: routers.data });
  console.log(`kvroute (node) listening on ${router.url}`);
  await shutdownOnSignal(graceMs, async (cut) => {
    await router.close({ graceMs, cut });
    await analytics?.close();
  });
  return 0;
}
