// The embedded default shared by `npm start` (Workers runtime) and `npm run start:node`: a simulated pool of 4
// vLLM backends (or, with `--engine llama`, 4 real llama.cpp engines on the CPU) and a demo tenant, created
// through the router's own admin API.
import { startEngineProcesses } from '../../gpu-backends/llama-engine/processes.ts';
import { startSimPool } from '../../gpu-backends/simulator/pool.ts';
import type { engineKinds } from '../../src/config/schema.ts';
import { generateApiKey } from '../../src/tenants/keys.ts';
import { num, parseFlags } from '../../src/util/args.ts';

export const DEMO_MODEL = 'llama-3.1-8b';
export const DEMO_TENANT = 'demo';

/** What serves the demo: the simulated vLLM pool, or real node-llama-cpp engines (`kvroute engine`). */
export type DemoEngine = 'sim' | 'llama';

/** The router's engine kind for the node-llama-cpp engines: llama-server's metrics, /slots and timings. */
export const LLAMA_ENGINE_KIND = 'llama-cpp' satisfies (typeof engineKinds)[number];

export interface DemoOptions {
  port: number;
  simBasePort: number;
  backends: number;
  timeScale: number;
  engine: DemoEngine;
  adminToken: string;
  demoKey: string;
}

export const DEMO_FLAGS = {
  port: { type: 'string' },
  'sim-base-port': { type: 'string' },
  backends: { type: 'string' },
  'time-scale': { type: 'string' },
  engine: { type: 'string' },
} as const;

export const DEMO_HELP = '[--port 8787] [--backends 4] [--engine sim|llama] [--sim-base-port 9100] [--time-scale 1]';

export function demoOptions(argv: string[]): DemoOptions {
  return demoOptionsOf(parseFlags(argv, DEMO_FLAGS));
}

/** From flags parsed with DEMO_FLAGS (and the caller's own). */
export function demoOptionsOf(f: { port?: string; 'sim-base-port'?: string; backends?: string; 'time-scale'?: string; engine?: string }): DemoOptions {
  const engine = f.engine ?? 'sim';
  if (engine !== 'sim' && engine !== 'llama') throw new Error(`--engine must be 'sim' (simulated vLLM pool) or 'llama' (real llama.cpp engines on the CPU), got '${engine}'`);
  return {
    port: num('port', f.port, 8787),
    simBasePort: num('sim-base-port', f['sim-base-port'], 9100),
    backends: num('backends', f.backends, 4),
    timeScale: num('time-scale', f['time-scale'], 1),
    engine,
    adminToken: process.env.KVROUTE_ADMIN_TOKEN ?? 'dev-admin-token',
    demoKey: process.env.KVROUTE_DEMO_KEY ?? generateApiKey().plain,
  };
}

export function demoConfig(urls: string[], engine: DemoEngine = 'sim') {
  const backend = (url: string, i: number) => (engine === 'llama' ? { id: `llama-${i}`, url, engine: LLAMA_ENGINE_KIND } : { id: `sim-${i}`, url, engine: 'vllm' });
  return {
    models: { [DEMO_MODEL]: { pool: 'gpu' } },
    pools: { gpu: { backends: urls.map(backend) } },
    stream: { keepaliveMs: 15_000 },
    health: { probeIntervalMs: 2_000 },
  };
}

export interface DemoPool {
  urls: string[];
  close(): Promise<void>;
}

/** The demo's backends: simulators on consecutive ports, or engine processes (4 slots, 1 thread each) on free ports. */
export async function startDemoPool(o: DemoOptions): Promise<DemoPool> {
  if (o.engine === 'llama') {
    console.log(`starting ${o.backends} llama.cpp engines (node-llama-cpp on the CPU, the generated tiny model)...`);
    return startEngineProcesses(o.backends, { slots: 4, threads: 1 });
  }
  return startSimPool({ backends: o.backends, basePort: o.simBasePort, timeScale: o.timeScale, model: DEMO_MODEL });
}

export async function waitForHealth(baseUrl: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${baseUrl}/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (!isAlive()) throw new Error('the router process exited during start-up');
    if (Date.now() > deadline) throw new Error(`the router did not answer on ${baseUrl} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates (or replaces) a tenant through the admin API and gives it an API key: `key` imported, or a new one.
 * Returns the key.
 */
export async function putTenant(baseUrl: string, adminToken: string, tenantId: string, config: object, key?: string): Promise<string> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const put = await fetch(`${baseUrl}/admin/tenants/${tenantId}`, { method: 'PUT', headers, body: JSON.stringify(config) });
  if (!put.ok) throw new Error(`creating tenant '${tenantId}' failed: ${put.status} ${await put.text()}`);
  const body = key === undefined ? undefined : JSON.stringify({ name: tenantId, key });
  const res = await fetch(`${baseUrl}/admin/tenants/${tenantId}/keys`, { method: 'POST', headers, body });
  if (!res.ok) throw new Error(`${key === undefined ? 'creating' : 'importing'} a key for '${tenantId}' failed: ${res.status} ${await res.text()}`);
  return key ?? ((await res.json<unknown>()) as { key: string }).key;
}

/** Creates (or replaces) the demo tenant and imports the demo key, through the admin API. */
export async function seedDemoTenant(baseUrl: string, o: DemoOptions, urls: string[], isAlive: () => boolean = () => true): Promise<void> {
  await waitForHealth(baseUrl, 60_000, isAlive);
  await putTenant(baseUrl, o.adminToken, DEMO_TENANT, demoConfig(urls, o.engine), o.demoKey);
}

export function printBanner(runtime: string, baseUrl: string, o: DemoOptions, urls: string[]): void {
  console.log(`
kvroute is running (${runtime})
  base URL      ${baseUrl}/v1
  demo API key  ${o.demoKey}
  model         ${DEMO_MODEL}
  admin token   ${o.adminToken}  (KVROUTE_ADMIN_TOKEN)
  backends      ${urls.join(', ')}${o.engine === 'llama' ? `\n                (llama.cpp engines: node-llama-cpp on the CPU, engine kind '${LLAMA_ENGINE_KIND}'; docs/engine.md)` : ''}

  curl ${baseUrl}/v1/chat/completions -H "Authorization: Bearer ${o.demoKey}" \\
    -H 'content-type: application/json' -d '{"model":"${DEMO_MODEL}","messages":[{"role":"user","content":"Hello"}]}'

Ctrl-C stops everything.`);
}
