// Helpers for the simulator's socket-level tests: free ports, a fast time scale, metric reads.
import OpenAI from 'openai';
import { startSimBackend, type SimBackend, type SimBackendOptions } from '../../../gpu-backends/simulator/server.ts';
import { simState, type SimState } from '../../helpers/sim-pool.ts';

/** A backend on a free port whose simulated clock runs `timeScale` times faster than the wall clock. */
export function startFast(opts: SimBackendOptions = {}): Promise<SimBackend> {
  return startSimBackend({ port: 0, timeScale: 50, ...opts });
}

export function client(b: SimBackend): OpenAI {
  return new OpenAI({ baseURL: `${b.url}/v1`, apiKey: 'sim', maxRetries: 0, timeout: 30_000 });
}

/** Sum of a metric's samples in the backend's /metrics. */
export async function metric(b: SimBackend, name: string): Promise<number> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
  }
  if (!found) throw new Error(`metric ${name} not found`);
  return sum;
}

export function state(b: SimBackend): Promise<SimState> {
  return simState(b.url);
}

/** Polls `check` until it returns true (bounded), for conditions that become true as simulated time runs. */
export async function eventually(check: () => Promise<boolean> | boolean, attempts = 400, everyMs = 10): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error('condition not reached');
}

export async function postJson(b: SimBackend, path: string, body: unknown): Promise<Response> {
  return fetch(`${b.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** A completions prompt of exactly `tokens` tokens (4 characters each), distinct per tag. */
export function promptOf(tokens: number, tag: string): string {
  const unit = `${tag}|`;
  return unit.repeat(Math.ceil((tokens * 4) / unit.length)).slice(0, tokens * 4);
}
