// The targets of the overhead benchmark: how to start each one in front of the shared upstream, and what a
// client sends to it. Every target is a separate process group (see procs.ts), pinned to the server CPUs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canConnect, freePort, start, waitReady, which, type Started } from './procs.ts';

export interface Ctx {
  root: string; // repository root
  kvrouteRoot: string; // the kvroute source to benchmark: the working tree, or an export of --kvroute-ref
  upstreamPort: number;
  serverCpus?: string; // taskset list for the targets, e.g. "0"; undefined = no pinning
  tmp: string; // scratch dir for configs and logs
  kvrouteConfig?: string; // optional template file for the kvroute config ({{UPSTREAM}} is replaced)
}

export interface Running {
  origin: string;
  path: string;
  headers: Record<string, string>;
  proc?: Started;
  notes?: string;
}

export interface TargetDef {
  name: string;
  describe: string;
  start(ctx: Ctx): Promise<Running>;
}

export const MODEL = 'bench-model';
export const API_KEY = 'kvb-bench-key-0001';
export const TENANT = 'bench';
const JSON_CT = { 'content-type': 'application/json' };

const httpOk = (port: number, p = '/') => async () => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.status < 500;
};

// KVROUTE_LOCAL_DEV: the upstream is on loopback, which only local development accepts (docs/security.md).
const env = () => ({ ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NODE_ENV: 'production', KVROUTE_LOCAL_DEV: '1' });

// ---------------------------------------------------------------------------------------------------- direct
const direct: TargetDef = {
  name: 'direct',
  describe: 'client -> upstream (no proxy)',
  async start(ctx) {
    return { origin: `http://127.0.0.1:${ctx.upstreamPort}`, path: '/v1/chat/completions', headers: { ...JSON_CT, authorization: `Bearer ${API_KEY}` } };
  },
};

// ----------------------------------------------------------------------------------------------------- nginx
function nginxBinary(): string {
  const found = which('nginx') ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
  if (found) return found;
  if (process.getuid?.() === 0 && which('apt-get')) {
    console.error('[bench] nginx missing: apt-get install -y nginx');
    spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx'], { stdio: 'inherit', timeout: 180_000 });
    const again = which('nginx') ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
    if (again) return again;
  }
  throw new Error('nginx not found (Debian: apt-get install -y nginx)');
}

const nginx: TargetDef = {
  name: 'nginx',
  describe: 'nginx proxy_pass, 1 worker, keepalive upstream, proxy_buffering off',
  async start(ctx) {
    const bin = nginxBinary();
    const port = await freePort();
    const dir = path.join(ctx.tmp, 'nginx');
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
    const user = process.getuid?.() === 0 ? 'user root;\n' : '';
    // One worker: every other target is a single process too. Small JSON bodies stay in memory.
    const conf = `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  upstream backend { server 127.0.0.1:${ctx.upstreamPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const proc = start('nginx', bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'logs/error.log')], { cpus: ctx.serverCpus, logDir: ctx.tmp });
    await waitReady('nginx', proc, () => canConnect(port), 10_000);
    const v = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', '');
    return { origin: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', headers: { ...JSON_CT, authorization: `Bearer ${API_KEY}` }, proc, notes: v };
  },
};

/** Extra node flags for the Node targets (kvroute and node-floor), e.g. `--cpu-prof` (docs/benchmarks.md, Profiling). */
const nodeFlags = () => process.env.KVB_ROUTER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];

// ------------------------------------------------------------------------------------------------ node-floor
const nodeFloor: TargetDef = {
  name: 'node-floor',
  describe: 'reference: minimal node:http + undici.Pool proxy, no auth/config/routing (node-floor.ts)',
  async start(ctx) {
    const port = await freePort();
    const proc = start('node-floor', process.execPath, [...nodeFlags(), '--import', 'tsx', path.join(ctx.root, 'bench/overhead/node-floor.ts'), '--port', String(port), '--upstream', `http://127.0.0.1:${ctx.upstreamPort}`], {
      cwd: ctx.root,
      cpus: ctx.serverCpus,
      logDir: ctx.tmp,
      env: env(),
    });
    await waitReady('node-floor', proc, () => canConnect(port), 15_000);
    return { origin: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', headers: { ...JSON_CT, authorization: `Bearer ${API_KEY}` }, proc };
  },
};

// --------------------------------------------------------------------------------------------------- Portkey
// Installed into bench/peers/portkey (its own package.json pins the @hono/node-server override that makes its
// streaming work on Node 20). Never part of the main package.
function ensurePortkey(root: string): string {
  const dir = path.join(root, 'bench/peers/portkey');
  const entry = path.join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (!fs.existsSync(entry)) {
    console.error('[bench] installing @portkey-ai/gateway into bench/peers/portkey (npm install --no-package-lock)');
    const r = spawnSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit', env: env(), timeout: 240_000 });
    if (r.status !== 0 || !fs.existsSync(entry)) throw new Error('npm install of @portkey-ai/gateway failed');
  }
  return entry;
}

const portkey: TargetDef = {
  name: 'portkey',
  describe: 'Portkey gateway (@portkey-ai/gateway) on Node, provider openai + custom host',
  async start(ctx) {
    const entry = ensurePortkey(ctx.root);
    const port = await freePort();
    const proc = start('portkey', process.execPath, [entry, `--port=${port}`, '--headless'], { cwd: path.dirname(entry), cpus: ctx.serverCpus, logDir: ctx.tmp, env: env() });
    await waitReady('portkey', proc, httpOk(port), 30_000);
    const { version } = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '../package.json'), 'utf8')) as { version: string };
    return {
      origin: `http://127.0.0.1:${port}`,
      path: '/v1/chat/completions',
      headers: {
        ...JSON_CT,
        authorization: 'Bearer x',
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `http://127.0.0.1:${ctx.upstreamPort}/v1`,
      },
      proc,
      notes: `@portkey-ai/gateway ${version}`,
    };
  },
};

// --------------------------------------------------------------------------------------------------- kvroute
/**
 * The router config (format of `kvroute serve --config` and KVROUTE_STATIC_CONFIG, src/tenants/snapshot.ts):
 * one tenant with a plain API key (hashed on load), one public model -> one pool of two backends (both the
 * bench upstream, so the policy really chooses between candidates) under the default policy, timeouts, retry
 * and health settings. Tenant auth, the config lookup and the routing decision all run on every request.
 */
export function kvrouteConfig(ctx: Ctx): string {
  const upstream = `http://127.0.0.1:${ctx.upstreamPort}`;
  if (ctx.kvrouteConfig) return fs.readFileSync(ctx.kvrouteConfig, 'utf8').replaceAll('{{UPSTREAM}}', upstream);
  return JSON.stringify(
    {
      tenants: {
        [TENANT]: {
          apiKeys: [API_KEY],
          config: {
            models: { [MODEL]: { pool: 'bench-pool' } },
            pools: { 'bench-pool': { backends: [{ id: 'b0', url: upstream }, { id: 'b1', url: upstream }] } },
          },
        },
      },
    },
    null,
    2,
  );
}

/** kvroute on Node through `kvroute serve`; `flags` are extra serve flags (a variant is skipped if unsupported). */
function kvrouteNodeTarget(name: string, describe: string, flags: string[]): TargetDef {
  return {
    name,
    describe,
    async start(ctx) {
      const port = await freePort();
      const cfg = path.join(ctx.tmp, 'kvroute-config.json');
      fs.writeFileSync(cfg, kvrouteConfig(ctx));
      const bin = path.join(ctx.kvrouteRoot, 'bin/kvroute.mjs');
      // Defaults of `kvroute serve` otherwise (analytics: its default sink); only the data dir goes to scratch.
      const help = spawnSync(process.execPath, [bin, 'serve', '--help'], { cwd: ctx.kvrouteRoot, encoding: 'utf8', env: env(), timeout: 30_000 }).stdout ?? '';
      for (const fl of flags) if (!help.includes(fl)) throw new Error(`this kvroute has no 'serve ${fl}'`);
      const extra = help.includes('--data-dir') ? ['--data-dir', path.join(ctx.tmp, `${name}-data`)] : [];
      const proc = start(name, process.execPath, [...nodeFlags(), bin, 'serve', '--config', cfg, '--port', String(port), ...extra, ...flags], {
        cwd: ctx.kvrouteRoot,
        cpus: ctx.serverCpus,
        logDir: ctx.tmp,
        env: env(),
      });
      await waitReady(name, proc, () => canConnect(port), 30_000);
      return { origin: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', headers: { ...JSON_CT, authorization: `Bearer ${API_KEY}` }, proc, notes: flags.join(' ') || undefined };
    },
  };
}

const kvrouteNode = kvrouteNodeTarget('kvroute-node', 'kvroute on Node (`kvroute serve --config`, its defaults): tenant auth + config + routing decision + analytics', []);
const kvrouteNodeNoAnalytics = kvrouteNodeTarget('kvroute-node-noanalytics', 'the same with `serve --no-analytics`', ['--no-analytics']);

function wranglerToml(root: string): { date: string; flags: string[] } {
  const text = fs.readFileSync(path.join(root, 'wrangler.toml'), 'utf8');
  const date = /^\s*compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? '2026-04-01';
  const flagsRaw = /^\s*compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? '';
  const flags = [...flagsRaw.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '');
  return { date, flags };
}

const capnpString = (s: string) => JSON.stringify(s); // capnp text literals use the same escapes as JSON here

/** A worker's modules for the workerd config: every file of a bundle directory, the entry module first. */
function bundleModules(bundle: string, entry: string): string[] {
  const files = fs.readdirSync(bundle, { recursive: true, withFileTypes: false }) as string[];
  const modules: string[] = [];
  const ordered = files.filter((f) => /\.(m?js|wasm|bin|txt|html)$/.test(f)).sort((a, b) => Number(b === entry) - Number(a === entry));
  for (const f of ordered) {
    const rel = `${path.basename(bundle)}/${f}`;
    if (/\.m?js$/.test(f)) modules.push(`(name = ${capnpString(f)}, esModule = embed ${capnpString(rel)})`);
    else if (f.endsWith('.wasm')) modules.push(`(name = ${capnpString(f)}, wasm = embed ${capnpString(rel)})`);
    else if (f.endsWith('.bin')) modules.push(`(name = ${capnpString(f)}, data = embed ${capnpString(rel)})`);
    else modules.push(`(name = ${capnpString(f)}, text = embed ${capnpString(rel)})`);
  }
  if (modules.length === 0) throw new Error(`no modules in the bundle ${bundle}`);
  return modules;
}

/**
 * Serves a bundled worker (`dir`/bundle, entry module first) on standalone workerd, pinned like every target.
 * `bindings`: capnp binding entries (text files must be in `dir`). Standalone workerd blocks private addresses
 * unless the worker's globalOutbound allows them (toolchain notes).
 */
async function serveOnWorkerd(ctx: Ctx, name: string, dir: string, modules: string[], compat: { date: string; flags: string[] }, bindings: string[]): Promise<Running> {
  const port = await freePort();
  const capnp = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .w),
    (name = "internet", network = (allow = ["public", "private"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')}
  ],
  compatibilityDate = ${capnpString(compat.date)},
  compatibilityFlags = [${compat.flags.map(capnpString).join(', ')}],
  bindings = [
    ${bindings.join(',\n    ')}
  ],
  globalOutbound = "internet",
);
`;
  fs.writeFileSync(path.join(dir, 'config.capnp'), capnp);
  const bin = path.join(ctx.root, 'node_modules/@cloudflare/workerd-linux-64/bin/workerd');
  // KVB_WORKERD_FLAGS: extra flags, e.g. `--inspector-addr=127.0.0.1:P` to profile the worker (docs/benchmarks.md).
  const extra = process.env.KVB_WORKERD_FLAGS?.split(' ').filter(Boolean) ?? [];
  const proc = start(name, bin, ['serve', path.join(dir, 'config.capnp'), '--experimental', ...extra], { cwd: dir, cpus: ctx.serverCpus, logDir: ctx.tmp });
  await waitReady(name, proc, () => canConnect(port), 30_000);
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { origin: `http://127.0.0.1:${port}`, path: '/v1/chat/completions', headers: { ...JSON_CT, authorization: `Bearer ${API_KEY}` }, proc, notes: v };
}

/** A worker bundled into its own scratch dir (`bundle` writes DIR/bundle and says how to serve it), on workerd. */
function workerdTarget(
  name: string,
  describe: string,
  bundle: (ctx: Ctx, dir: string, out: string) => Promise<{ entry: string; compat: { date: string; flags: string[] }; bindings: string[] }>,
): TargetDef {
  return {
    name,
    describe,
    async start(ctx) {
      const dir = path.join(ctx.tmp, name);
      const out = path.join(dir, 'bundle');
      fs.mkdirSync(dir, { recursive: true });
      const { entry, compat, bindings } = await bundle(ctx, dir, out);
      return serveOnWorkerd(ctx, name, dir, bundleModules(out, entry), compat, bindings);
    },
  };
}

const kvrouteWorkerd = workerdTarget('kvroute-workerd', 'kvroute Worker bundle (wrangler --dry-run) on standalone workerd, KVROUTE_STATIC_CONFIG text binding', async (ctx, dir, out) => {
  const wr = spawnSync(process.execPath, [path.join(ctx.root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', out], {
    cwd: ctx.kvrouteRoot,
    env: env(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (wr.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${(wr.stdout + wr.stderr).slice(-2000)}`);
  fs.writeFileSync(path.join(dir, 'kvroute-config.json'), kvrouteConfig(ctx));
  return {
    entry: fs.existsSync(path.join(out, 'worker.js')) ? 'worker.js' : 'index.js',
    compat: wranglerToml(ctx.kvrouteRoot),
    bindings: ['(name = "KVROUTE_STATIC_CONFIG", text = embed "kvroute-config.json")', '(name = "KVROUTE_LOCAL_DEV", text = "1")'],
  };
});

// ---------------------------------------------------------------------------------------- hono-floor-workerd
function honoFloorTarget(name: string, describe: string, buffer: boolean): TargetDef {
  return workerdTarget(name, describe, async (ctx, _dir, out) => {
    // esbuild (what wrangler bundles with) is enough for a worker without Durable Objects or other bindings.
    const { build } = await import('esbuild');
    await build({ entryPoints: [path.join(ctx.root, 'bench/overhead/hono-floor-worker.ts')], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', outfile: path.join(out, 'worker.js'), logLevel: 'error' });
    const bindings = [`(name = "UPSTREAM", text = ${capnpString(`http://127.0.0.1:${ctx.upstreamPort}`)})`];
    if (buffer) bindings.push('(name = "BUFFER", text = "1")');
    return { entry: 'worker.js', compat: wranglerToml(ctx.root), bindings };
  });
}

const honoFloorWorkerd = honoFloorTarget(
  'hono-floor-workerd',
  'reference: minimal Hono worker on standalone workerd forwarding with fetch, no auth/config/routing (hono-floor-worker.ts)',
  false,
);
const honoFloorWorkerdBuffered = honoFloorTarget(
  'hono-floor-workerd-buffered',
  'reference: the same, reading a JSON answer whole before answering, as node-floor does (hono-floor-worker.ts, BUFFER)',
  true,
);

export const TARGETS: TargetDef[] = [direct, nginx, nodeFloor, honoFloorWorkerd, honoFloorWorkerdBuffered, portkey, kvrouteNode, kvrouteNodeNoAnalytics, kvrouteWorkerd];
/** Measured unless --targets says otherwise (node-floor is an optional reference). */
export const DEFAULT_TARGETS = ['direct', 'nginx', 'portkey', 'kvroute-node', 'kvroute-workerd'];
