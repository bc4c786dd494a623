// The router under test for bench/shadow, as its own process (so the load client's timers and the router's
// event loop never share a thread): startNodeRouter with an in-memory tenant store, one API key, an admin token
// (the benchmark switches shadow on and off through PUT /admin/tenants/:id, the product's own path) and the
// real Node analytics (SQLite + buffer), so every shadow pair is really written.
//   node --import tsx bench/shadow/router.ts --port P --dir DIR --key KEY --admin-token T
// Prints "ready <url>" when listening; SIGTERM closes the router, then delivers and closes the analytics.
import path from 'node:path';
import { createNodeAnalytics } from '../../src/runtimes/node-analytics.ts';
import { startNodeRouter } from '../../routes/node.ts';
import { sha256Hex } from '../../src/tenants/keys.ts';
import { MemoryTenantStore } from '../../src/tenants/store.ts';
import { parseFlags } from '../../src/util/args.ts';

const flags = parseFlags(process.argv.slice(2), {
  port: { type: 'string' },
  dir: { type: 'string' },
  key: { type: 'string' },
  'admin-token': { type: 'string' },
  tenant: { type: 'string' },
});
const dir = flags.dir ?? process.exit(2);
const tenant = flags.tenant ?? 'bench';

const store = new MemoryTenantStore();
await store.putKey({ keyId: 'k1', tenantId: tenant, hash: await sha256Hex(flags.key ?? 'sk-bench'), createdAt: new Date().toISOString() });
const analytics = await createNodeAnalytics({ sqlitePath: path.join(dir, 'analytics.db'), spoolDir: path.join(dir, 'spool') });
// Probes off: the benchmark's load is the only traffic the backends see, in both conditions.
const router = await startNodeRouter({ store, analytics, port: Number(flags.port ?? 0), adminToken: flags['admin-token'], probes: false });
console.log(`ready ${router.url}`);

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  void router
    .close()
    .then(() => analytics.close(10_000))
    .then(() => process.exit(0), (err: unknown) => (console.error(err), process.exit(1)));
});
