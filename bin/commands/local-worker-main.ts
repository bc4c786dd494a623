// `kvroute local-worker --port P [--persist-to DIR] [--vars JSON] [--without BINDING,...]`: the Worker in the local Workers runtime until
// SIGINT/SIGTERM. Started by spawnLocalWorker (local-worker.ts); not meant to be typed by hand.
//
// workerd through Miniflare, with the bindings wrangler.toml declares (KV, D1, Durable Objects, Queues) as local
// state, and the bundle `wrangler deploy --dry-run` builds, so what runs is what a deploy uploads. No dev proxy in
// front: wrangler's dev server proxies every request through a worker of its own that neither passes on a
// client's departure nor survives aborted requests under load (it answers text/plain 503 "Your worker restarted
// mid-request"), and its devtools inspector copies every response body.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Log, LogLevel, Miniflare, type Json } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { num, parseFlags } from '../../src/util/args.ts';
import { untilSignal } from '../../src/util/signals.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

/** Bundles the Worker as a deploy would (wrangler deploy --dry-run) into a temporary directory. */
function bundle(): { dir: string; entry: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-worker-'));
  const r = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${(r.stdout + r.stderr).slice(-2000)}`);
  const entry = readdirSync(dir).find((f) => f === 'worker.js' || f === 'index.js');
  if (!entry) throw new Error(`no worker.js or index.js in the bundle (${readdirSync(dir).join(', ')})`);
  return { dir, entry: join(dir, entry) };
}

/**
 * Leaves a binding of wrangler.toml out of Miniflare's options (a Worker deployed without it), with the consumer
 * of a Queue left out along with its producer. Unknown names are an error, so a typo does not pass silently.
 */
function withoutBinding(options: Record<string, unknown>, name: string): void {
  let found = false;
  for (const kind of ['bindings', 'kvNamespaces', 'd1Databases', 'r2Buckets', 'durableObjects', 'queueProducers', 'analyticsEngineDatasets', 'serviceBindings']) {
    const group = options[kind] as Record<string, unknown> | undefined;
    if (!group || !(name in group)) continue;
    if (kind === 'queueProducers') {
      const queue = (group[name] as { queueName?: string } | string | undefined);
      const queueName = typeof queue === 'string' ? queue : queue?.queueName;
      const consumers = options.queueConsumers as Record<string, unknown> | string[] | undefined;
      if (consumers && queueName) {
        if (Array.isArray(consumers)) options.queueConsumers = consumers.filter((q) => q !== queueName);
        else delete consumers[queueName];
      }
    }
    delete group[name];
    found = true;
  }
  if (!found) throw new Error(`--without ${name}: no such binding in wrangler.toml`);
}

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, { port: { type: 'string' }, 'persist-to': { type: 'string' }, vars: { type: 'string' }, without: { type: 'string' }, direct: { type: 'boolean' } });
  const port = num('port', f.port, 8787);
  const vars = JSON.parse(f.vars ?? '{}') as Record<string, string>;
  const built = bundle();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml'));
  for (const name of (f.without ?? '').split(',').filter(Boolean)) withoutBinding(workerOptions, name);
  const mf = new Miniflare({
    ...workerOptions,
    name: 'kvroute',
    modules: true,
    modulesRoot: built.dir,
    scriptPath: built.entry,
    bindings: { ...(workerOptions.bindings as Record<string, Json> | undefined), ...vars }, // wrangler types it loosely
    host: '127.0.0.1',
    // --direct: the Worker listens on `port` itself, as on Cloudflare's edge, with no Miniflare entry worker
    // (which proxies every request and adds request.cf) in front; that entry worker then gets a port of its own.
    port: f.direct ? 0 : port,
    ...(f.direct && { unsafeDirectSockets: [{ host: '127.0.0.1', port }] }),
    defaultPersistRoot: f['persist-to'] ?? join(ROOT, '.wrangler/state'),
    log: new Log(LogLevel.WARN),
    // Opt-in, for memory investigations (bench/soak/heap.ts): workerd's own DevTools inspector on this port, one
    // target per isolate (the Worker's and Miniflare's services). Off by default: nothing listens otherwise.
    ...(process.env.KVROUTE_INSPECTOR_PORT && { inspectorPort: num('KVROUTE_INSPECTOR_PORT', process.env.KVROUTE_INSPECTOR_PORT, 0) }),
  } as ConstructorParameters<typeof Miniflare>[0]);
  await mf.ready;
  await untilSignal();
  await mf.dispose();
  rmSync(built.dir, { recursive: true, force: true });
  return 0;
}
