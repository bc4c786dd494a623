// The fuzz targets as real processes: the Node router (`kvroute serve --config`) and the Worker in the local
// Workers runtime (`kvroute local-worker`), both in front of one simulated vLLM pool, each with the same two tenants.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnLocalWorker } from '../../../bin/commands/local-worker.ts';
import { backendsOf, type BackendView } from '../../helpers/responses.ts';
import { FUZZ } from './arbitraries.ts';
import type { Runtime } from './judge.ts';

const BIN = fileURLToPath(new URL('../../../bin/kvroute.mjs', import.meta.url));
/** KVROUTE_LOCAL_DEV=1: the run is local development (loopback backends, a test admin token). */
const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', KVROUTE_LOCAL_DEV: '1' };

export interface Target {
  runtime: Runtime;
  url: string;
  /** What the router process wrote to stderr (kvroute logs unexpected errors there). */
  log(): string;
  stop(): Promise<void>;
}

export interface Simulators {
  urls: string[];
  stop(): Promise<void>;
}

/**
 * `kvroute sim` as a child process on ports the kernel picks (`--base-port 0`): it prints one URL per backend and
 * then a ready line. Fast (time scale 100) and short-spoken (16 tokens on average), so the fuzz run spends its
 * time on the router.
 */
export async function startSimulators(n: number): Promise<Simulators> {
  const child = spawn(process.execPath, [BIN, 'sim', '--backends', String(n), '--base-port', '0', '--time-scale', '100', '--mean-output-tokens', '16'], { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
  const log = capture(child);
  const deadline = Date.now() + 30_000;
  while (!/^ready:/m.test(log())) {
    if (child.exitCode !== null) throw new Error(`kvroute sim exited ${child.exitCode}: ${log()}`);
    if (Date.now() > deadline) throw new Error(`kvroute sim was not ready within 30 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { urls: log().match(/^http:\/\/\S+$/gm) ?? [], stop: () => stopChild(child) };
}

/** The two tenants' configs: A on backends 0 and 1 (one model renamed upstream), B alone on backend 2. */
export function tenantConfigs(pool: Simulators): Record<'a' | 'b', unknown> {
  const timeouts = { connectMs: 1_000, firstByteMs: 10_000, idleMs: 5_000, requestBodyMs: FUZZ.requestBodyMs };
  return {
    a: {
      models: { 'llama-3.1-8b': { pool: 'a' }, alpha: { pool: 'a', model: 'llama-3.1-8b' } },
      pools: { a: { backends: FUZZ.tenants.a.backends.map((id, i) => ({ id, url: pool.urls[i] })) } },
      timeouts,
      limits: { maxBodyBytes: FUZZ.maxBodyBytesA },
    },
    b: {
      models: { beta: { pool: 'g', model: 'llama-3.1-8b' } },
      pools: { g: { backends: [{ id: FUZZ.tenants.b.backends[0], url: pool.urls[2] }] } },
      timeouts,
    },
  };
}

/** A port the kernel says is free (listen on port 0, then let go of it for the child process to take). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function untilHealthy(url: string, alive: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!alive()) throw new Error(`the router exited before it was ready:\n${what()}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the router was not ready within 60 s:\n${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function capture(child: ChildProcess): () => string {
  let text = '';
  const keep = (d: Buffer) => {
    text += d.toString('utf8');
    if (text.length > 4_000_000) text = text.slice(-2_000_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

/** `kvroute serve --config FILE` as a child process, with SQLite analytics in a scratch directory. */
export async function startNodeTarget(pool: Simulators): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-fuzz-node-'));
  const configs = tenantConfigs(pool);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    adminToken: FUZZ.adminToken,
    tenants: {
      [FUZZ.tenants.a.id]: { config: configs.a, apiKeys: [FUZZ.tenants.a.key] },
      [FUZZ.tenants.b.id]: { config: configs.b, apiKeys: [FUZZ.tenants.b.key] },
    },
  }));
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve', '--config', file, '--port', String(port), '--data-dir', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
  const log = capture(child);
  const url = `http://127.0.0.1:${port}`;
  await untilHealthy(url, () => child.exitCode === null, log);
  return {
    runtime: 'node', url, log,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function admin(url: string, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${FUZZ.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

/** The Worker in the local Workers runtime (spawnLocalWorker) with local state in a scratch directory; tenants and keys through the admin API. */
export async function startWorkersTarget(pool: Simulators): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-fuzz-workers-'));
  const port = await freePort();
  const dev = spawnLocalWorker({ port, adminToken: FUZZ.adminToken, persistTo: dir, output: 'pipe' });
  const log = capture(dev.process);
  await untilHealthy(dev.url, dev.alive, log);
  const configs = tenantConfigs(pool);
  for (const t of ['a', 'b'] as const) {
    await admin(dev.url, 'PUT', `/admin/tenants/${FUZZ.tenants[t].id}`, configs[t]);
    await admin(dev.url, 'POST', `/admin/tenants/${FUZZ.tenants[t].id}/keys`, { key: FUZZ.tenants[t].key, name: 'fuzz' });
  }
  return {
    runtime: 'workers', url: dev.url, log,
    async stop() {
      await dev.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Property (d), part one: a well-formed request of `tenant` is served (200 with a completion) right now. */
export async function servesTenant(url: string, tenant: 'a' | 'b'): Promise<string | null> {
  const t = FUZZ.tenants[tenant];
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: t.models[0], messages: [{ role: 'user', content: 'Are you still there?' }], max_tokens: 4 }),
    signal: AbortSignal.timeout(15_000),
  }).catch((e: unknown) => e as Error); // fetch rejects with an Error (TypeError, or the timeout's DOMException)
  if (res instanceof Error) return `tenant ${t.id}: ${res.message}`;
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"choices"')) return `tenant ${t.id}: ${res.status} ${text.slice(0, 300)}`;
  return null;
}

/**
 * Property (d), part two: every backend's in-flight count is back to 0 once all answers are in (polled for a
 * bounded while: a stream's release runs right after its last byte). Returns the counts if they stay above 0.
 */
export async function inflightDrained(url: string, waitMs = 5_000): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let backends: Record<string, BackendView>;
    try {
      backends = await backendsOf(await fetch(`${url}/admin/backends`, { headers: { authorization: `Bearer ${FUZZ.adminToken}` }, signal: AbortSignal.timeout(waitMs) }));
    } catch (e) {
      return `GET /admin/backends failed: ${(e as Error).message}`;
    }
    const busy = Object.entries(backends).filter(([, b]) => b.inflight !== 0);
    if (busy.length === 0) return null;
    if (Date.now() > deadline) return busy.map(([u, b]) => `${u} inflight=${b.inflight}`).join(', ');
    await new Promise((r) => setTimeout(r, 50));
  }
}
