// Starts a simulated vLLM pool as a separate process through the real CLI (`kvroute sim`), the way a user does,
// and stops it at the end. Ports: a free consecutive range found by binding.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EngineSnapshot } from '../../gpu-backends/simulator/engine.ts';
import { freePortRange } from '../../src/util/ports.ts';

const BIN = fileURLToPath(new URL('../../bin/kvroute.mjs', import.meta.url));

export interface SimPool {
  urls: string[];
  child: ChildProcess;
  setFaults(i: number, faults: unknown): Promise<void>;
  metrics(i: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startSimPool(n: number, extraArgs: string[] = []): Promise<SimPool> {
  const base = await freePortRange(n);
  const child = spawn(process.execPath, [BIN, 'sim', '--backends', String(n), '--base-port', String(base), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const urls = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${base + i}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kvroute sim exited ${child.exitCode}: ${err || out}`);
    const ready = await Promise.all(urls.map((u) => fetch(`${u}/health`).then((r) => r.ok, () => false)));
    if (ready.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error(`kvroute sim did not become ready: ${err || out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    urls,
    child,
    async setFaults(i, faults) {
      const refusing = typeof faults === 'object' && faults !== null && 'refuseConnections' in faults;
      // A backend that is refusing connections for a while comes back by itself; wait for it (bounded).
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await fetch(`${urls[i]}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
          if (!r.ok) throw new Error(`setFaults: ${r.status} ${await r.text()}`);
          return;
        } catch (e) {
          // Turning refusal on may close the very connection that asked for it.
          if (refusing) return;
          if (attempt >= 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async metrics(i) {
      return (await fetch(`${urls[i]}/metrics`)).text();
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A simulated backend's `GET /admin/state`: its engine's snapshot and the simulated clock. */
export type SimState = EngineSnapshot & { model: string; simNowMs: number };

export async function simState(url: string): Promise<SimState> {
  return (await (await fetch(`${url}/admin/state`)).json<unknown>()) as SimState;
}

/** Reads one sample of a Prometheus counter/gauge from metrics text (sum over label sets that match `labelPart`). */
export function metricValue(text: string, name: string, labelPart = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (labelPart && !rest.includes(labelPart)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
